using System.Collections.Frozen;
using System.Net;

namespace Trellis.Proxy.Configuration;

/// <summary>Everything the proxy is told at start, from flags or <c>TRELLIS_PROXY_*</c> variables.</summary>
public sealed record ProxyOptions
{
    public required IPEndPoint OutboundListen { get; init; }

    public required IPEndPoint InboundListen { get; init; }

    public required IPEndPoint AdminListen { get; init; }

    /// <summary>Where outbound connections go when not intercepted; null means transparent (SO_ORIGINAL_DST).</summary>
    public IPEndPoint? OutboundDestination { get; init; }

    /// <summary>Where inbound connections go; null means 127.0.0.1 on the original destination's port.</summary>
    public IPEndPoint? InboundDestination { get; init; }

    /// <summary>Destination ports whose traffic skips detection (server-speaks-first protocols).</summary>
    public required FrozenSet<int> OpaquePorts { get; init; }

    public required TimeSpan DetectTimeout { get; init; }

    public required TimeSpan ConnectTimeout { get; init; }

    /// <summary>Time allowed for response headers; <see cref="Timeout.InfiniteTimeSpan"/> when off.</summary>
    public required TimeSpan ResponseTimeout { get; init; }

    public required TimeSpan DrainTimeout { get; init; }
}
