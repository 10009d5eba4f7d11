using System.Net.Sockets;
using System.Text;

namespace Trellis.Proxy.Tests.Admin;

/// <summary>Reads HTTP/1.1 responses off a raw socket, for the exchanges no HTTP client would show.</summary>
internal static class RawHttp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Task SendAsync(this Socket socket, string request) =>
        socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);

    /// <summary>Reads one response: its head (up to the empty line) and a body of its Content-Length.</summary>
    public static async Task<(string Head, string Body)> ReadResponseAsync(this Socket socket, bool bodyExpected = true)
    {
        using var cancellation = new CancellationTokenSource(Timeout);
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!EndsWithEmptyLine(bytes))
        {
            if (await socket.ReceiveAsync(one, SocketFlags.None, cancellation.Token) == 0)
            {
                throw new IOException("closed before the response head ended: " + Encoding.ASCII.GetString([.. bytes]));
            }

            bytes.Add(one[0]);
        }

        var head = Encoding.ASCII.GetString([.. bytes]);
        if (!bodyExpected)
        {
            return (head, string.Empty);
        }

        var body = new byte[ContentLength(head)];
        for (var read = 0; read < body.Length;)
        {
            var n = await socket.ReceiveAsync(body.AsMemory(read), SocketFlags.None, cancellation.Token);
            if (n == 0)
            {
                throw new IOException("closed before the response body ended");
            }

            read += n;
        }

        return (head, Encoding.UTF8.GetString(body));
    }

    public static int ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("no Content-Length in " + head);
    }

    private static bool EndsWithEmptyLine(List<byte> bytes) =>
        bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n';
}
