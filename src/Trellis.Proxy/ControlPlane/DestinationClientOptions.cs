namespace Trellis.Proxy.ControlPlane;

/// <summary>Limits and timings of the destination streams.</summary>
public sealed class DestinationClientOptions
{
    /// <summary>The proxy's own SPIFFE ID, sent as the context token (<c>--identity</c>); may be empty.</summary>
    public string ContextToken { get; init; } = "";

    /// <summary>A destination not resolved for this long has its stream closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// At most this many streams at once. Authorities come from clients, so without a bound a
    /// client could open a stream to the controller per made-up Host header; past the bound
    /// new destinations resolve to their original destination.
    /// </summary>
    public int MaxDestinations { get; init; } = 1000;

    /// <summary>Reconnect delays after a lost stream.</summary>
    public ExponentialBackoff Backoff { get; init; } = ExponentialBackoff.Default;
}
