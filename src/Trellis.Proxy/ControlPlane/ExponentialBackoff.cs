namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// Reconnect delays that double from <see cref="Min"/> up to <see cref="Max"/>, each drawn at
/// random from the upper half of its step so that proxies that lost the controller together
/// do not all come back in the same instant.
/// </summary>
public sealed record ExponentialBackoff(TimeSpan Min, TimeSpan Max)
{
    public static ExponentialBackoff Default { get; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));

    /// <summary>The delay before retry number <paramref name="attempt"/> (0 for the first retry).</summary>
    public TimeSpan Delay(int attempt, Random random)
    {
        if (Min <= TimeSpan.Zero || Max < Min)
            throw new InvalidOperationException($"Backoff needs 0 < min <= max, got {Min} and {Max}.");

        // 2^attempt overflows past ~60 doublings; the cap is reached long before.
        var step = Min.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var cap = Math.Min(step, Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((cap / 2) + (random.NextDouble() * cap / 2));
    }
}
