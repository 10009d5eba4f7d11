namespace Trellis.Proxy.Balancing;

/// <summary>Tuning of the peak-EWMA load estimate. The defaults are Linkerd's.</summary>
public sealed class PeakEwmaOptions
{
    /// <summary>
    /// Time constant of the decay: after this long without observations an estimate has
    /// fallen to 1/e of its value, so a slow spike is forgotten within a few of these.
    /// </summary>
    public TimeSpan DecayTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The estimate of a new endpoint before any response was seen.</summary>
    public TimeSpan DefaultRtt { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>
    /// The round trip a failed request counts as (when slower than the one observed), so an
    /// endpoint that fails fast looks slow and gets less traffic instead of more.
    /// </summary>
    public TimeSpan FailurePenalty { get; init; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        if (DecayTime <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(DecayTime), DecayTime, "The decay time must be positive.");
        if (DefaultRtt < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(DefaultRtt), DefaultRtt, "The default RTT must not be negative.");
        if (FailurePenalty < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(FailurePenalty), FailurePenalty, "The failure penalty must not be negative.");
    }
}
