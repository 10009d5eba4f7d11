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

    /// <summary>How long the proxy must carry no traffic before it gives memory back; <see cref="TimeSpan.Zero"/> never.</summary>
    public TimeSpan IdleMemoryRelease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A directory with <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c>: a mesh identity from files.</summary>
    public string? IdentityDirectory { get; init; }

    /// <summary>The SPIFFE ID the static outbound destination must prove; makes that hop mTLS.</summary>
    public string? OutboundDestinationIdentity { get; init; }

    /// <summary>The control plane (destination and identity), HOST:PORT.</summary>
    public string? Controller { get; init; }

    /// <summary>The name the controller's certificate must carry; defaults to the host of <see cref="Controller"/>.</summary>
    public string? ControllerName { get; init; }

    /// <summary>The trust anchor (PEM) that signs the controller's and every workload's certificate.</summary>
    public string? TrustAnchor { get; init; }

    /// <summary>This workload's SPIFFE ID, certified by the control plane's identity service.</summary>
    public string? Identity { get; init; }

    /// <summary>The token proving <see cref="Identity"/>, re-read at every renewal.</summary>
    public string? IdentityTokenFile { get; init; }

    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Says what is inconsistent about the flags together, or null when they fit.</summary>
    public string? Validate()
    {
        if (Controller is not null && TrustAnchor is null)
        {
            return "--controller needs --trust-anchor (the PEM file the controller's certificate chains to)";
        }

        if (Identity is not null && (Controller is null || IdentityTokenFile is null))
        {
            return "--identity needs --controller and --identity-token-file (the identity service certifies it)";
        }

        if (Identity is not null && IdentityDirectory is not null)
        {
            return "--identity and --identity-dir are two sources of one identity; give one";
        }

        if (OutboundDestinationIdentity is not null && OutboundDestination is null)
        {
            return "--outbound-destination-identity needs --outbound-destination";
        }

        if (OutboundDestinationIdentity is not null && IdentityDirectory is null && Identity is null)
        {
            return "--outbound-destination-identity needs an identity of this proxy's own (--identity-dir or --identity) to present";
        }

        return null;
    }
}
