using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Automatic mTLS: an endpoint that discovery (or the static configuration) names with a mesh
/// identity is dialled through <see cref="MeshTlsConnector"/> and must prove that identity;
/// an endpoint without one is unmeshed and gets the plain connection its client asked for.
/// </summary>
public sealed class MeshAwareConnector : IUpstreamConnector
{
    private readonly IUpstreamConnector _plain;
    private readonly IMeshConnector _mesh;

    public MeshAwareConnector(IUpstreamConnector plain, IMeshConnector mesh)
    {
        _plain = plain;
        _mesh = mesh;
    }

    public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken) =>
        _plain.ConnectAsync(endpoint, cancellationToken);

    public ValueTask<ConnectionContext> ConnectAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken) =>
        endpoint.Identity is { } identity
            ? _mesh.ConnectAsync(endpoint.Address, identity, cancellationToken)
            : _plain.ConnectAsync(endpoint.Address, cancellationToken);
}
