using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.Transport;

/// <summary>
/// A bound TCP port and its accept loop, shared by the proxy's listeners and the admin server.
/// Each accepted socket is handed to <c>serve</c> without being awaited, so one slow
/// connection never holds up the next accept.
/// </summary>
internal sealed partial class SocketListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly string _name;
    private readonly Func<Socket, Task> _serve;
    private readonly ILogger _logger;
    private Task _acceptLoop = Task.CompletedTask;

    /// <param name="name">What the port is for, in log lines ("outbound", "admin").</param>
    /// <exception cref="SocketException">The endpoint cannot be bound.</exception>
    public SocketListener(IPEndPoint endpoint, string name, Func<Socket, Task> serve, ILogger logger)
    {
        _name = name;
        _serve = serve;
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
        LogListening(_logger, _name, LocalEndPoint);
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
                LogAcceptFailed(_logger, _name, e.SocketErrorCode);
                await Task.Delay(50);
                continue;
            }

            _ = _serve(accepted);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "{Direction} listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string direction, IPEndPoint endpoint);

    [LoggerMessage(2, LogLevel.Warning, "{Direction} accept failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string direction, SocketError error);
}
