namespace Trellis.Controller.Registry;

/// <summary>A refused registry operation with its reason.</summary>
public sealed class RegistryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RegistryException(RegistryError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>The reason.</summary>
    public RegistryError Error { get; }
}
