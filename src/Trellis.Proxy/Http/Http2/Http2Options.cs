namespace Trellis.Proxy.Http.Http2;

/// <summary>Limits and timeouts of the HTTP/2 (h2c) relay.</summary>
public sealed class Http2Options
{
    /// <summary>How long dialling an upstream endpoint may take before the request fails with 504.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a forwarded request may see no activity (no headers, no body bytes either way)
    /// before it fails with 504. Infinite by default, as in Linkerd: long-lived gRPC streams
    /// (watches) are legitimately quiet for minutes.
    /// </summary>
    public TimeSpan ResponseIdleTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>How long a pooled upstream connection with no streams is kept before it is closed.</summary>
    public TimeSpan UpstreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a client connection with no open streams is kept before a GOAWAY.</summary>
    public TimeSpan ClientIdleTimeout { get; init; } = TimeSpan.FromSeconds(130);

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS advertised to each client connection.</summary>
    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout), allowInfinite: false);
        RequirePositive(ResponseIdleTimeout, nameof(ResponseIdleTimeout), allowInfinite: true);
        RequirePositive(UpstreamIdleTimeout, nameof(UpstreamIdleTimeout), allowInfinite: true);
        RequirePositive(ClientIdleTimeout, nameof(ClientIdleTimeout), allowInfinite: false);
        if (MaxConcurrentStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentStreams), MaxConcurrentStreams, "HTTP/2 MaxConcurrentStreams must be at least 1.");
        }
    }

    private static void RequirePositive(TimeSpan value, string name, bool allowInfinite)
    {
        if (allowInfinite && value == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        // Timers take milliseconds as int: bound to what they accept.
        if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                name, value, allowInfinite ? $"HTTP/2 {name} must be positive or infinite." : $"HTTP/2 {name} must be positive.");
        }
    }
}
