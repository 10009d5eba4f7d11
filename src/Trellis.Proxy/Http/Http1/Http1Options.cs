namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Limits and timeouts of the HTTP/1 forwarding path. Every size a peer controls is bounded
/// here, so no input can make the proxy buffer without limit.
/// </summary>
public sealed class Http1Options
{
    /// <summary>Largest request head (request line, headers, final CRLF); larger gets 431 and a close.</summary>
    public int MaxRequestHeadBytes { get; init; } = 64 * 1024;

    /// <summary>Longest request line; longer gets 414 and a close.</summary>
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;

    /// <summary>Most header fields in one request head; more gets 431 and a close.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Largest response head from an upstream; larger is a 502 (upstream protocol error).</summary>
    public int MaxResponseHeadBytes { get; init; } = 64 * 1024;

    /// <summary>Longest chunk-size line (size plus extensions) and largest trailer section.</summary>
    public int MaxChunkLineBytes { get; init; } = 4 * 1024;

    /// <summary>How long to wait for the upstream's response head after the request head was sent; infinite by default.</summary>
    public TimeSpan ResponseHeadersTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Idle upstream connections kept per endpoint for reuse. High enough that a busy client's
    /// concurrency never exceeds it (HAProxy and Linkerd do not bound it at all): with 32, at 60-120
    /// concurrent requests a fifth of the requests dialled a new connection, and throughput fell to
    /// half. Idle connections hold no buffers, and UpstreamIdleTimeout closes them.
    /// </summary>
    public int MaxIdleConnectionsPerEndpoint { get; init; } = 1024;

    /// <summary>How long an idle upstream connection is kept before it is closed.</summary>
    public TimeSpan UpstreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Refuses limits that would make the forwarder reject everything or bound nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    public void Validate()
    {
        Require(MaxRequestLineBytes >= 16, nameof(MaxRequestLineBytes), MaxRequestLineBytes);
        Require(MaxRequestHeadBytes >= MaxRequestLineBytes, nameof(MaxRequestHeadBytes), MaxRequestHeadBytes);
        Require(MaxHeaderCount >= 1, nameof(MaxHeaderCount), MaxHeaderCount);
        Require(MaxResponseHeadBytes >= 16, nameof(MaxResponseHeadBytes), MaxResponseHeadBytes);
        Require(MaxChunkLineBytes >= 3, nameof(MaxChunkLineBytes), MaxChunkLineBytes);
        Require(MaxIdleConnectionsPerEndpoint >= 0, nameof(MaxIdleConnectionsPerEndpoint), MaxIdleConnectionsPerEndpoint);
        Require(
            ResponseHeadersTimeout == Timeout.InfiniteTimeSpan || ResponseHeadersTimeout > TimeSpan.Zero,
            nameof(ResponseHeadersTimeout),
            ResponseHeadersTimeout);
        Require(UpstreamIdleTimeout > TimeSpan.Zero, nameof(UpstreamIdleTimeout), UpstreamIdleTimeout);
    }

    private static void Require<T>(bool condition, string name, T value)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Http1Options.{name} is out of range.");
        }
    }
}
