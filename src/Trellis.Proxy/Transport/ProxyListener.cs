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
    private readonly SocketListener _listener;
    private readonly TrafficDirection _direction;
    private readonly Func<Socket, IPEndPoint?> _resolveTarget;
    private readonly ProxyConnectionHandler _stack;
    private readonly ILogger _logger;
    private readonly ConnectionTracker _tracker;

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
        _listener = new SocketListener(endpoint, direction.Label(), ServeAsync, logger);
    }

    /// <summary>The bound address; the port is real even when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    public void Start() => _listener.Start();

    /// <summary>Stops accepting; connections already accepted carry on.</summary>
    public ValueTask DisposeAsync() => _listener.DisposeAsync();

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

    [LoggerMessage(3, LogLevel.Warning, "{Direction} connection from {Client} refused: no destination (not redirected and no static destination configured)")]
    private static partial void LogNoTarget(ILogger logger, string direction, EndPoint? client);

    [LoggerMessage(4, LogLevel.Warning, "{Direction} connection failed")]
    private static partial void LogConnectionFailed(ILogger logger, string direction, Exception exception);
}
