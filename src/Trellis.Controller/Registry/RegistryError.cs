namespace Trellis.Controller.Registry;

/// <summary>Why a registry call was refused; maps one-to-one onto a gRPC status code.</summary>
public enum RegistryError
{
    /// <summary>A field is malformed.</summary>
    InvalidArgument,

    /// <summary>The pod is not registered (expired lease or controller restart).</summary>
    NotFound,

    /// <summary>The requested address belongs to another pod.</summary>
    AlreadyExists,

    /// <summary>No address is left in the range.</summary>
    ResourceExhausted,
}
