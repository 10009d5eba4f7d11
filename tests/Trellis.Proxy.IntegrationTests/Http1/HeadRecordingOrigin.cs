using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// A minimal HTTP/1.1 origin on a raw socket that keeps every request head exactly as it came
/// off the wire (Kestrel would normalise what these tests look at: header case and the
/// hop-by-hop fields). It answers each bodiless request with a short 200 and keeps the
/// connection open, except <c>GET /hang</c>, which it never answers. No framework runs per
/// request, so its answers are prompt even on a loaded machine.
/// </summary>
internal sealed class HeadRecordingOrigin : IAsyncDisposable
{
    private readonly LoopbackTcpServer _server;
    private readonly ConcurrentQueue<string> _heads = new();

    public HeadRecordingOrigin()
    {
        _server = new LoopbackTcpServer(ServeAsync);
    }

    public IPEndPoint EndPoint => _server.EndPoint;

    public IReadOnlyList<string> Heads => [.. _heads];

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffered = new List<byte>();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int end;
            while ((end = IndexOfHeadEnd(buffered)) < 0)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                buffered.AddRange(buffer.AsSpan(0, read));
            }

            var head = Encoding.Latin1.GetString(buffered.GetRange(0, end).ToArray());
            _heads.Enqueue(head);
            buffered.RemoveRange(0, end);
            if (head.StartsWith("GET /hang ", StringComparison.Ordinal))
            {
                // Never answers; waits for the proxy to give up and close.
                while (await stream.ReadAsync(buffer, cancellationToken) > 0)
                {
                }

                return;
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"u8.ToArray(), cancellationToken);
        }
    }

    /// <summary>The length of the head including its final CRLF CRLF, or -1 while incomplete.</summary>
    private static int IndexOfHeadEnd(List<byte> bytes)
    {
        for (var i = 3; i < bytes.Count; i++)
        {
            if (bytes[i - 3] == '\r' && bytes[i - 2] == '\n' && bytes[i - 1] == '\r' && bytes[i] == '\n')
            {
                return i + 1;
            }
        }

        return -1;
    }
}
