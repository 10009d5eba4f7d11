using System.Net.Sockets;
using System.Text;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// Requests no HTTP client would send, written on a raw socket: each is refused with the status
/// RFC 9112 asks for, the connection is closed (its framing can no longer be trusted), nothing
/// reaches the origin, and a good request on a new connection is served.
/// </summary>
public class Http1MalformedRequestTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    public static TheoryData<string, string, int> Requests => new()
    {
        { "Content-Length and Transfer-Encoding", "POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
        { "two different Content-Lengths", "POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400 },
        { "obsolete line folding", "GET /folded HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", 400 },
        { "request line over 8 KiB", "GET /" + new string('a', 9 * 1024) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414 },
        { "header block over 64 KiB", "GET /big HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(0, 9).Select(i => $"X-Big-{i}: {new string('b', 8 * 1024)}\r\n")) + "\r\n", 431 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task MalformedRequest_IsRefusedAndClosedThenANewConnectionIsServed(string what, string request, int status)
    {
        await using var origin = new HeadRecordingOrigin();
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(origin.EndPoint);

        using (var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound))
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
            var response = Encoding.ASCII.GetString(await client.ReceiveToEndAsync(Patience));

            Assert.True(response.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"{what}: {response}");
            Assert.Contains("connection: close", response, StringComparison.OrdinalIgnoreCase);
        }

        var curl = await ExternalCommand.CurlAsync($"http://{proxy.Outbound}/after");
        Assert.True(curl.ExitCode == 0 && curl.Stdout == "ok\n", curl.ToString());
        // The refused request never reached the origin; the good one did.
        Assert.StartsWith("GET /after HTTP/1.1\r\n", Assert.Single(origin.Heads), StringComparison.Ordinal);
    }
}
