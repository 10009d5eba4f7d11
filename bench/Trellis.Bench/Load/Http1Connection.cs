using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;

namespace Trellis.Bench.Load;

/// <summary>
/// One keep-alive HTTP/1.1 client connection on a raw socket: writes a fixed `GET /` and reads one
/// response framed by Content-Length. Hand-written instead of HttpClient because the load generator
/// shares its core with the origin: HttpClient costs several times more CPU per request (request and
/// header objects, pool bookkeeping) and queues requests across its connections where the generator
/// cannot see which connection was late; a fixed set of sockets makes the coordinated-omission
/// accounting exact. Only what the origin sends is supported; anything else is reported as an error.
/// </summary>
internal sealed class Http1Connection : IDisposable
{
    private static readonly byte[] Request = "GET / HTTP/1.1\r\nHost: bench.trellis.local\r\nUser-Agent: trellis-bench\r\n\r\n"u8.ToArray();
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] ContentLength = "\r\ncontent-length:"u8.ToArray();
    private static readonly byte[] StatusOk = "HTTP/1.1 200 "u8.ToArray();

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16 * 1024];

    private Http1Connection(Socket socket) => _socket = socket;

    public static async Task<Http1Connection> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new Http1Connection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends one request and reads its whole response, blocking; throws <see cref="IOException"/> on
    /// anything unexpected and <see cref="SocketException"/> when the peer is silent for
    /// <paramref name="timeout"/>. Blocking rather than async: the open loop gives each connection its
    /// own thread, so a response wakes that thread directly instead of the socket engine's thread and
    /// then a pool thread, two more wake-ups on the core the generator shares with the origin.
    /// </summary>
    public void RoundTrip(TimeSpan timeout)
    {
        _socket.SendTimeout = _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        _socket.Send(Request, SocketFlags.None);
        var filled = 0;
        var expectedTotal = -1;
        while (expectedTotal < 0 || filled < expectedTotal)
        {
            if (filled == _buffer.Length)
            {
                throw new IOException("response larger than the 16 KiB the bench origin ever sends");
            }
            var read = _socket.Receive(_buffer.AsSpan(filled), SocketFlags.None);
            if (read == 0)
            {
                throw new IOException("connection closed before the response was complete");
            }
            filled += read;
            if (expectedTotal < 0)
            {
                expectedTotal = ParseHead(_buffer.AsSpan(0, filled));
            }
        }
        if (filled != expectedTotal)
        {
            throw new IOException("unexpected bytes after the response");
        }
    }

    /// <summary>Returns head length + body length once the head is complete, -1 while it is not.</summary>
    internal static int ParseHead(ReadOnlySpan<byte> data)
    {
        var headEnd = data.IndexOf(HeaderEnd);
        if (headEnd < 0)
        {
            return -1;
        }
        var head = data[..(headEnd + 2)];
        if (!head.StartsWith(StatusOk))
        {
            throw new IOException("status was not 200: " + System.Text.Encoding.ASCII.GetString(head[..Math.Min(head.Length, 40)]).Split('\r')[0]);
        }
        var lower = ArrayPool<byte>.Shared.Rent(head.Length);
        try
        {
            for (var i = 0; i < head.Length; i++)
            {
                var b = head[i];
                lower[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
            }
            var lowered = lower.AsSpan(0, head.Length);
            var at = lowered.IndexOf(ContentLength);
            if (at < 0)
            {
                throw new IOException("response without Content-Length (the bench origin always sends one)");
            }
            var value = lowered[(at + ContentLength.Length)..];
            value = value[..value.IndexOf((byte)'\r')].Trim((byte)' ');
            if (!Utf8Parser.TryParse(value, out int length, out var consumed) || consumed != value.Length || length < 0)
            {
                throw new IOException("bad Content-Length");
            }
            return headEnd + 4 + length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(lower);
        }
    }

    public void Dispose() => _socket.Dispose();
}
