using System.Net;
using System.Net.Sockets;

namespace Trellis.Testing;

/// <summary>
/// A TCP relay on loopback that forwards every connection to <c>target</c> and keeps a copy of
/// every byte in each direction: a wire capture without root, for asserting what crosses a hop
/// (for example that a mesh hop carries no plaintext).
/// </summary>
public sealed class RecordingRelay : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly MemoryStream _toTarget = new();
    private readonly MemoryStream _fromTarget = new();
    private readonly LoopbackTcpServer _server;

    public RecordingRelay(IPEndPoint target)
    {
        _target = target;
        _server = new LoopbackTcpServer(RelayAsync);
    }

    public IPEndPoint EndPoint => _server.EndPoint;

    public int Accepted => _server.Accepted;

    /// <summary>Every byte the relay's clients sent towards the target so far.</summary>
    public byte[] SentToTarget()
    {
        lock (_toTarget)
        {
            return _toTarget.ToArray();
        }
    }

    /// <summary>Every byte the target sent back so far.</summary>
    public byte[] ReceivedFromTarget()
    {
        lock (_fromTarget)
        {
            return _fromTarget.ToArray();
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task RelayAsync(NetworkStream client, CancellationToken cancellationToken)
    {
        using var upstream = new TcpClient { NoDelay = true };
        await upstream.ConnectAsync(_target, cancellationToken);
        var target = upstream.GetStream();
        var up = CopyAsync(client, target, _toTarget, () => upstream.Client.Shutdown(SocketShutdown.Send), cancellationToken);
        var down = CopyAsync(target, client, _fromTarget, () => client.Socket.Shutdown(SocketShutdown.Send), cancellationToken);
        await Task.WhenAll(up, down);
    }

    /// <summary>Copies until the source finishes, then passes the half-close on.</summary>
    private static async Task CopyAsync(NetworkStream source, NetworkStream destination, MemoryStream record, Action halfClose, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                lock (record)
                {
                    record.Write(buffer, 0, read);
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            halfClose();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // One side reset: the other will see its own error or close; nothing to record.
        }
    }
}
