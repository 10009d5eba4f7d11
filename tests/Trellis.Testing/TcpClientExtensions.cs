using System.Net;
using System.Net.Sockets;

namespace Trellis.Testing;

public static class SocketTestExtensions
{
    /// <summary>Connects a raw TCP client; tests use it for bytes no HTTP client would send.</summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        return socket;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, or fewer if the peer closes; bounded by a timeout.</summary>
    public static async Task<byte[]> ReceiveExactlyAsync(this Socket socket, int count, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellation.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return buffer[..read];
    }

    /// <summary>Reads until the peer closes; bounded by a timeout.</summary>
    public static async Task<byte[]> ReceiveToEndAsync(this Socket socket, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        using var output = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation.Token);
            if (n == 0)
            {
                return output.ToArray();
            }

            output.Write(buffer, 0, n);
        }
    }

    /// <summary>
    /// Waits until the peer closes, by FIN or by reset, discarding anything it still sends;
    /// bounded by a timeout.
    /// </summary>
    public static async Task WaitForCloseAsync(this Socket socket, TimeSpan timeout)
    {
        try
        {
            await socket.ReceiveToEndAsync(timeout);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }
}
