using System.Net;
using System.Net.Sockets;

namespace Trellis.Testing;

/// <summary>
/// A TCP server on 127.0.0.1 with an ephemeral port, running <c>serve</c> on every accepted
/// connection: an echo, a banner that speaks first, whatever a test needs.
/// </summary>
public sealed class LoopbackTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<NetworkStream, CancellationToken, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;

    public LoopbackTcpServer(Func<NetworkStream, CancellationToken, Task> serve)
    {
        _serve = serve;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public int Port => EndPoint.Port;

    /// <summary>How many connections reached the server.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Echoes every byte until the client finishes sending, then closes.</summary>
    public static LoopbackTcpServer Echo() => new(static async (stream, cancellationToken) =>
    {
        await stream.CopyToAsync(stream, cancellationToken);
    });

    /// <summary>Speaks first (like SMTP or MySQL), then echoes.</summary>
    public static LoopbackTcpServer Banner(byte[] banner) => new(async (stream, cancellationToken) =>
    {
        await stream.WriteAsync(banner, cancellationToken);
        await stream.CopyToAsync(stream, cancellationToken);
    });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _accepted);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await _serve(client.GetStream(), _stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The peer went away or the server stopped: nothing to report.
            }
        }
    }
}
