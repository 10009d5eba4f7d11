namespace Trellis.Proxy.Balancing;

/// <summary>
/// The load estimate of one endpoint: a round-trip time that jumps to any slower observation
/// at once (the peak) and otherwise moves towards faster observations, and decays towards zero
/// while nothing is observed, times the requests in flight plus one. Finagle and Linkerd
/// balance on this: it reacts to a slow endpoint within one response, and an endpoint that
/// was slow a while ago gets probed again.
/// </summary>
/// <remarks>
/// Reads happen on every pick and writes on every completion; a short lock keeps the estimate
/// and its timestamp consistent, the pending count is lock-free.
/// </remarks>
internal sealed class PeakEwma
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _decayMs;
    private readonly double _penaltyMs;
    private double _rttMs;
    private long _updatedAt;
    private int _pending;

    public PeakEwma(PeakEwmaOptions options, TimeProvider time)
    {
        _time = time;
        _decayMs = options.DecayTime.TotalMilliseconds;
        _penaltyMs = options.FailurePenalty.TotalMilliseconds;
        _rttMs = options.DefaultRtt.TotalMilliseconds;
        _updatedAt = time.GetTimestamp();
    }

    /// <summary>Requests started and not yet completed.</summary>
    public int Pending => Math.Max(0, Volatile.Read(ref _pending));

    /// <summary>The current round-trip estimate, decayed to <paramref name="now"/>.</summary>
    public double EstimateMs(long now)
    {
        lock (_lock)
        {
            return _rttMs * Decay(now);
        }
    }

    /// <summary>Estimate times (pending + 1), divided by the endpoint's weight.</summary>
    public double Cost(long now, uint weight) => EstimateMs(now) * (Pending + 1) / weight;

    public PendingRequest Start()
    {
        Interlocked.Increment(ref _pending);
        return new PendingRequest(this, _time.GetTimestamp());
    }

    internal void Complete(long startedAt, bool failed) =>
        Complete(_time.GetElapsedTime(startedAt), failed);

    internal void Complete(TimeSpan rtt, bool failed)
    {
        Interlocked.Decrement(ref _pending);
        var observedMs = Math.Max(0, rtt.TotalMilliseconds);
        if (failed)
            observedMs = Math.Max(observedMs, _penaltyMs);

        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (observedMs >= _rttMs)
            {
                _rttMs = observedMs;
            }
            else
            {
                // The longer since the last observation, the more the new one counts.
                var decay = Decay(now);
                _rttMs = (_rttMs * decay) + (observedMs * (1 - decay));
            }
            _updatedAt = now;
        }
    }

    private double Decay(long now)
    {
        var elapsedMs = _time.GetElapsedTime(_updatedAt, now).TotalMilliseconds;
        return elapsedMs <= 0 ? 1 : Math.Exp(-elapsedMs / _decayMs);
    }
}
