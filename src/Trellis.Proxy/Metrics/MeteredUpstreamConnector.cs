using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// Counts upstream connections (<c>peer="dst"</c>) for whatever dials through it: opened,
/// open, closed, and bytes both ways; <c>tls="true"</c> for hops to meshed endpoints.
/// </summary>
public sealed class MeteredUpstreamConnector : IUpstreamConnector
{
    private readonly IUpstreamConnector _inner;
    private readonly TcpMetrics _plain;
    private readonly TcpMetrics _tls;

    public MeteredUpstreamConnector(IUpstreamConnector inner, ProxyMetrics metrics, TrafficDirection direction)
    {
        _inner = inner;
        _plain = metrics.ForTcp(direction, TcpPeer.Destination, tls: false);
        _tls = metrics.ForTcp(direction, TcpPeer.Destination, tls: true);
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken) =>
        Meter(await _inner.ConnectAsync(endpoint, cancellationToken), _plain);

    public async ValueTask<ConnectionContext> ConnectAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken) =>
        Meter(await _inner.ConnectAsync(endpoint, cancellationToken), endpoint.Identity is null ? _plain : _tls);

    private static ConnectionContext Meter(ConnectionContext connection, TcpMetrics tcp)
    {
        connection.Transport = new CountingDuplexPipe(connection.Transport, tcp.ReadBytes, tcp.WriteBytes);
        tcp.ConnectionOpened();
        // Connections signal this when disposed, aborted or reset: every way they end.
        connection.ConnectionClosed.Register(static state => ((TcpMetrics)state!).ConnectionClosed(string.Empty), tcp);
        return connection;
    }
}
