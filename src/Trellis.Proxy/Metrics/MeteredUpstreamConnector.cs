using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// Counts upstream connections (<c>peer="dst"</c>) for whatever dials through it: opened,
/// open, closed, and bytes both ways.
/// </summary>
public sealed class MeteredUpstreamConnector : IUpstreamConnector
{
    private readonly IUpstreamConnector _inner;
    private readonly TcpMetrics _tcp;

    public MeteredUpstreamConnector(IUpstreamConnector inner, TcpMetrics tcp)
    {
        _inner = inner;
        _tcp = tcp;
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var connection = await _inner.ConnectAsync(endpoint, cancellationToken);
        connection.Transport = new CountingDuplexPipe(connection.Transport, _tcp.ReadBytes, _tcp.WriteBytes);
        _tcp.ConnectionOpened();
        // SocketConnection signals this when it is disposed, aborted or reset: every way it ends.
        connection.ConnectionClosed.Register(static state => ((TcpMetrics)state!).ConnectionClosed(string.Empty), _tcp);
        return connection;
    }
}
