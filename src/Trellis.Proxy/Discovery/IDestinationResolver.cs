using System.Net;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Decides which endpoint a connection (TCP) or a request (HTTP, by authority) goes to.
/// Without a control plane the answer is the connection's own target; with one
/// (<see cref="ControlPlaneResolver"/>) it is an endpoint the balancer picked per request.
/// </summary>
public interface IDestinationResolver
{
    /// <param name="connection">The client connection, with its original destination.</param>
    /// <param name="authority">The HTTP authority (Host or :authority), or null for TCP.</param>
    ValueTask<UpstreamEndpoint> ResolveAsync(ProxyConnection connection, string? authority, CancellationToken cancellationToken);
}

/// <summary>One endpoint to dial, and what discovery knows about it.</summary>
/// <param name="Address">Where to dial. For a meshed endpoint this is already the peer proxy's inbound port.</param>
public readonly record struct UpstreamEndpoint(IPEndPoint Address)
{
    /// <summary>
    /// The peer proxy's SPIFFE ID. Set means meshed: dial <see cref="Address"/> with mTLS and
    /// require this identity. Null means unmeshed: plaintext, as the client sent it.
    /// </summary>
    public string? Identity { get; init; }

    /// <summary>What the peer proxy accepts (HTTP/2 between proxies, or opaque bytes).</summary>
    public ProtocolHint ProtocolHint { get; init; }

    /// <summary>Metric labels of the destination (dst_namespace, dst_service, dst_pod, ...), or null when unknown.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>
    /// The balancer's handle for this request: call <see cref="PendingRequest.Complete(bool)"/>
    /// exactly once when the response head arrives or the request fails. The default (no
    /// balancing happened) ignores the call.
    /// </summary>
    public PendingRequest Completion { get; init; }
}
