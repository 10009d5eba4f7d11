namespace Trellis.Proxy.Balancing;

/// <summary>
/// One request (or connection) counted against an endpoint's load from <see cref="BalancerEndpoint{T}.Start"/>
/// until <see cref="Complete(bool)"/>. Call a Complete overload exactly once. The default value
/// tracks nothing, so code that did not balance (a fallback address) can call it all the same.
/// </summary>
public readonly struct PendingRequest
{
    private readonly PeakEwma? _load;
    private readonly long _startedAt;

    internal PendingRequest(PeakEwma load, long startedAt)
    {
        _load = load;
        _startedAt = startedAt;
    }

    /// <summary>False for the default value (nothing to report).</summary>
    public bool IsTracked => _load is not null;

    /// <summary>Completes with the time since the start as the round trip.</summary>
    /// <param name="failed">True when the endpoint failed the request (connect error, reset, 5xx).</param>
    public void Complete(bool failed) => _load?.Complete(_startedAt, failed);

    /// <summary>Completes with a round trip the caller measured.</summary>
    public void Complete(TimeSpan rtt, bool failed) => _load?.Complete(rtt, failed);
}
