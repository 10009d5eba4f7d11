using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Dials plain TCP and wraps the socket in the same pipes as accepted connections, so both
/// ends of a forwarded exchange share one transport and one scheduling mode.
/// </summary>
public sealed class SocketUpstreamConnector : IUpstreamConnector
{
    private readonly TimeSpan _connectTimeout;

    public SocketUpstreamConnector(TimeSpan connectTimeout)
    {
        _connectTimeout = connectTimeout;
    }

    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connectTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new UpstreamConnectException(ProxyError.ConnectTimeout, endpoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var error = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => ProxyError.ConnectionRefused,
                SocketError.TimedOut => ProxyError.ConnectTimeout,
                _ => ProxyError.HostUnreachable,
            };
            throw new UpstreamConnectException(error, endpoint, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return SocketConnection.Start(socket);
    }
}
