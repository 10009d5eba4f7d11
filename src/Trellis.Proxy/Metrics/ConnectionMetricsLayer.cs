using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// Counts a client connection (<c>peer="src"</c>): opened, open, closed with a reason, and the
/// bytes both ways, by putting counting pipes under every layer that follows.
/// </summary>
public sealed class ConnectionMetricsLayer
{
    private readonly ProxyConnectionHandler _next;
    private readonly ProxyMetrics _metrics;

    public ConnectionMetricsLayer(ProxyConnectionHandler next, ProxyMetrics metrics)
    {
        _next = next;
        _metrics = metrics;
    }

    public async Task InvokeAsync(ProxyConnection connection)
    {
        var tcp = _metrics.ForTcp(connection.Direction, TcpPeer.Source, connection.Tls.Terminated);
        connection.Context.Transport = new CountingDuplexPipe(connection.Context.Transport, tcp.ReadBytes, tcp.WriteBytes);
        tcp.ConnectionOpened();
        var reason = string.Empty;
        try
        {
            await _next(connection);
        }
        catch (Exception e)
        {
            reason = CloseReason.Of(e);
            throw;
        }
        finally
        {
            tcp.ConnectionClosed(reason);
        }
    }
}

/// <summary>The <c>errno</c> label of <c>tcp_close_total</c>: empty for a clean close.</summary>
public static class CloseReason
{
    public static string Of(Exception e) => e switch
    {
        ConnectionResetException => "ECONNRESET",
        ConnectionAbortedException => "ECONNABORTED",
        System.Net.Sockets.SocketException s => s.SocketErrorCode.ToString(),
        IOException { InnerException: System.Net.Sockets.SocketException s } => s.SocketErrorCode.ToString(),
        OperationCanceledException => "ECANCELED",
        _ => "EIO",
    };
}
