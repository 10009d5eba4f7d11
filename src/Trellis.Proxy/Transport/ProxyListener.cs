using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Accepts connections on one port, works out each one's target (original destination, static
/// destination or local application), and runs the side's stack on it. Tracks live
/// connections so a drain can wait for them.
/// </summary>
public sealed partial class ProxyListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TrafficDirection _direction;
    private readonly Func<Socket, IPEndPoint?> _resolveTarget;
    private readonly ProxyConnectionHandler _stack;
    private readonly ILogger _logger;
    private readonly ConnectionTracker _tracker;
    private Task _acceptLoop = Task.CompletedTask;

    /// <param name="resolveTarget">Returns where an accepted socket's traffic should go, or null to refuse it.</param>
    public ProxyListener(
        IPEndPoint endpoint,
        TrafficDirection direction,
        Func<Socket, IPEndPoint?> resolveTarget,
        ProxyConnectionHandler stack,
        ConnectionTracker tracker,
        ILogger logger)
    {
        _direction = direction;
        _resolveTarget = resolveTarget;
        _stack = stack;
        _tracker = tracker;
        _logger = logger;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _socket.DualMode = true;
        }

        _socket.Bind(endpoint);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The bound address; the port is real even when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    public void Start()
    {
        _socket.Listen(512);
        _acceptLoop = AcceptLoopAsync();
        LogListening(_logger, _direction.Label(), LocalEndPoint);
    }

    /// <summary>Stops accepting; connections already accepted carry on.</summary>
    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _acceptLoop;
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and friends: log, back off briefly, keep serving.
                LogAcceptFailed(_logger, _direction.Label(), e.SocketErrorCode);
                await Task.Delay(50);
                continue;
            }

            _ = ServeAsync(accepted);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        socket.NoDelay = true;
        var target = _resolveTarget(socket);
        if (target is null)
        {
            LogNoTarget(_logger, _direction.Label(), socket.RemoteEndPoint);
            socket.Dispose();
            return;
        }

        var context = SocketConnection.Start(socket);
        var connection = new ProxyConnection(context, _direction, target);
        using var tracked = _tracker.Track(connection);
        try
        {
            await _stack(connection);
        }
        catch (Exception e)
        {
            LogConnectionFailed(_logger, _direction.Label(), e);
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "{Direction} listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string direction, IPEndPoint endpoint);

    [LoggerMessage(2, LogLevel.Warning, "{Direction} accept failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string direction, SocketError error);

    [LoggerMessage(3, LogLevel.Warning, "{Direction} connection from {Client} refused: no destination (not redirected and no static destination configured)")]
    private static partial void LogNoTarget(ILogger logger, string direction, EndPoint? client);

    [LoggerMessage(4, LogLevel.Warning, "{Direction} connection failed")]
    private static partial void LogConnectionFailed(ILogger logger, string direction, Exception exception);
}
