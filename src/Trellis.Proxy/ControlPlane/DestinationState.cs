namespace Trellis.Proxy.ControlPlane;

/// <summary>What is known about one destination.</summary>
public enum DestinationState
{
    /// <summary>No answer from the controller yet.</summary>
    Pending,

    /// <summary>The controller sent endpoints (the set may have become empty since).</summary>
    Endpoints,

    /// <summary>The service exists but has no ready endpoints.</summary>
    NoEndpoints,

    /// <summary>The controller does not know the destination (unmeshed or external traffic).</summary>
    Unknown,
}
