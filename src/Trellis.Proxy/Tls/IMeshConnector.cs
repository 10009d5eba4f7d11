using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Dials a meshed endpoint and proves it is the identity expected of it: one mTLS connection
/// per call (<see cref="MeshTlsConnector"/>), or a tunnel on a shared one
/// (<see cref="Multiplexing.MultiplexedMeshConnector"/>).
/// </summary>
public interface IMeshConnector
{
    /// <exception cref="Transport.UpstreamConnectException">The endpoint could not be reached or proved another identity.</exception>
    ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, string expectedIdentity, CancellationToken cancellationToken);
}
