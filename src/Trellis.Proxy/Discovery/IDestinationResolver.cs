using System.Net;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Decides which endpoint a connection (TCP) or a request (HTTP, by authority) goes to.
/// Without a control plane the answer is the connection's own target; the destination
/// service from the control-plane issue plugs in here with per-request balancing.
/// </summary>
public interface IDestinationResolver
{
    /// <param name="connection">The client connection, with its original destination.</param>
    /// <param name="authority">The HTTP authority (Host or :authority), or null for TCP.</param>
    ValueTask<UpstreamEndpoint> ResolveAsync(ProxyConnection connection, string? authority, CancellationToken cancellationToken);
}

/// <summary>One endpoint to dial.</summary>
public readonly record struct UpstreamEndpoint(IPEndPoint Address);
