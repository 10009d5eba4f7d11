using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Dials an upstream endpoint and hands back its pipes. The seam where mTLS to meshed peers
/// plugs in, and where tests put in-memory peers instead of sockets.
/// </summary>
public interface IUpstreamConnector
{
    /// <exception cref="UpstreamConnectException">The endpoint could not be reached.</exception>
    ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Dials a resolved endpoint. A mesh-aware connector uses its identity to upgrade the hop
    /// to mTLS; every other connector only needs the address.
    /// </summary>
    /// <exception cref="UpstreamConnectException">The endpoint could not be reached or proved another identity.</exception>
    ValueTask<ConnectionContext> ConnectAsync(Discovery.UpstreamEndpoint endpoint, CancellationToken cancellationToken) =>
        ConnectAsync(endpoint.Address, cancellationToken);
}

/// <summary>Why dialling an upstream failed; becomes a 502/504 and a log line.</summary>
public sealed class UpstreamConnectException : Exception
{
    public UpstreamConnectException(ProxyError error, IPEndPoint endpoint, Exception? inner = null)
        : base($"{error.Reason()} ({endpoint})", inner)
    {
        Error = error;
        Endpoint = endpoint;
    }

    public ProxyError Error { get; }

    public IPEndPoint Endpoint { get; }
}
