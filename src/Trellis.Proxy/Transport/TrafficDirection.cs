namespace Trellis.Proxy.Transport;

/// <summary>Which side of the proxy accepted a connection; the <c>direction</c> metric label.</summary>
public enum TrafficDirection
{
    /// <summary>From the local application to another workload (port 4140).</summary>
    Outbound,

    /// <summary>From another workload to the local application (port 4143).</summary>
    Inbound,
}

public static class TrafficDirectionExtensions
{
    public static string Label(this TrafficDirection direction) =>
        direction == TrafficDirection.Inbound ? "inbound" : "outbound";
}
