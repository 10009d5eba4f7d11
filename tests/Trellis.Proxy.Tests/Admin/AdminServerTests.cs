using System.Net;
using System.Net.Sockets;
using Trellis.Testing;

namespace Trellis.Proxy.Tests.Admin;

public class AdminServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Get_TwoRequests_ShareOneKeptAliveConnection()
    {
        await using var admin = await AdminFixture.StartAsync();
        var connects = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connects);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = Timeout };

        using var first = await http.GetAsync(new Uri(admin.Uri, "live"));
        var firstBody = await first.Content.ReadAsStringAsync();
        using var second = await http.GetAsync(new Uri(admin.Uri, "ready"));

        Assert.Equal("live\n", firstBody);
        Assert.Equal("ready\n", await second.Content.ReadAsStringAsync());
        Assert.Equal(1, connects);
        Assert.Equal("text/plain; charset=utf-8", first.Content.Headers.ContentType!.ToString());
        Assert.Equal(5, first.Content.Headers.ContentLength);
        Assert.Empty(first.Headers.Server);
    }

    [Fact]
    public async Task Head_Metrics_HasTheGetFieldsAndNoBody()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);

        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: admin\r\n\r\n");
        var (_, body) = await client.ReadResponseAsync();
        await client.SendAsync("HEAD /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
        var (head, _) = await client.ReadResponseAsync(bodyExpected: false);
        var rest = await client.ReceiveToEndAsync(Timeout);

        Assert.Contains("request_total{direction=\"outbound\"} 3\n", body, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", head, StringComparison.Ordinal);
        Assert.Equal(body.Length, RawHttp.ContentLength(head));
        Assert.Empty(rest);
    }

    [Fact]
    public async Task Get_ConnectionClose_IsAnsweredThenClosed()
    {
        await using var admin = await AdminFixture.StartAsync();

        var response = await SendUntilClosedAsync(admin, "GET /live HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nlive\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Http10_ClosesUnlessKeepAliveAsked()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);

        await client.SendAsync("GET /live HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        var (kept, _) = await client.ReadResponseAsync();
        await client.SendAsync("GET /live HTTP/1.0\r\n\r\n");
        var last = System.Text.Encoding.ASCII.GetString(await client.ReceiveToEndAsync(Timeout));

        Assert.Contains("\r\nConnection: keep-alive\r\n", kept, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", last, StringComparison.Ordinal);
        Assert.EndsWith("live\n", last, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /live HTTP/1.1\r\nHost: admin\r\nno colon\r\n\r\n")]
    [InlineData("GET /live HTTP/1.1\nHost: admin\n\n")]
    [InlineData("GET /live HTTP/1.1\r\n\r\n")]
    public async Task MalformedHead_Is400AndCloses(string request)
    {
        await using var admin = await AdminFixture.StartAsync();

        var response = await SendUntilClosedAsync(admin, request);

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nconnection: close\r\n", response, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Post_BodyOverLimit_Is413AndCloses()
    {
        await using var admin = await AdminFixture.StartAsync();

        var response = await SendUntilClosedAsync(admin, $"POST /shutdown HTTP/1.1\r\nHost: admin\r\nContent-Length: {(64 * 1024) + 1}\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 413 Content Too Large\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
        Assert.Equal(0, admin.Shutdowns);
    }

    [Fact]
    public async Task Post_ChunkedBody_Is411AndCloses()
    {
        await using var admin = await AdminFixture.StartAsync();

        var response = await SendUntilClosedAsync(admin, "POST /shutdown HTTP/1.1\r\nHost: admin\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 411 Length Required\r\n", response, StringComparison.Ordinal);
        Assert.Equal(0, admin.Shutdowns);
    }

    [Fact]
    public async Task Post_SmallBody_IsDroppedAndTheNextRequestServed()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);

        await client.SendAsync(
            "POST /live HTTP/1.1\r\nHost: admin\r\nContent-Length: 16\r\n\r\nGET /nope HTTP/1" +
            "GET /live HTTP/1.1\r\nHost: admin\r\n\r\n");
        var (refused, refusedBody) = await client.ReadResponseAsync();
        var (served, servedBody) = await client.ReadResponseAsync();

        Assert.StartsWith("HTTP/1.1 405 ", refused, StringComparison.Ordinal);
        Assert.Equal("use GET\n", refusedBody);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", served, StringComparison.Ordinal);
        Assert.Equal("live\n", servedBody);
    }

    [Fact]
    public async Task Post_ExpectContinue_Gets100BeforeTheBodyIsSent()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);

        await client.SendAsync("POST /shutdown HTTP/1.1\r\nHost: admin\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        var (interim, _) = await client.ReadResponseAsync(bodyExpected: false);
        await client.SendAsync("{}");
        var (final, body) = await client.ReadResponseAsync();

        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", interim);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", final, StringComparison.Ordinal);
        Assert.Equal("shutting down\n", body);
        Assert.Equal(1, admin.Shutdowns);
    }

    [Theory]
    [InlineData("live?x=1", "live\n")]
    [InlineData("ready?verbose&x=%2F", "ready\n")]
    public async Task Get_WithQueryString_RoutesByPath(string target, string expected)
    {
        await using var admin = await AdminFixture.StartAsync();
        using var http = new HttpClient { Timeout = Timeout };

        Assert.Equal(expected, await http.GetStringAsync(new Uri(admin.Uri, target)));
    }

    [Fact]
    public async Task Get_MetricsWithQueryString_RendersMetrics()
    {
        await using var admin = await AdminFixture.StartAsync();

        var result = await ExternalCommand.CurlAsync(new Uri(admin.Uri, "metrics?x=1").ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("# TYPE request_total counter\n", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostShutdown_FromLoopback_CallsTheShutdownAction()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var http = new HttpClient { Timeout = Timeout };

        using var refused = await http.GetAsync(new Uri(admin.Uri, "shutdown"));
        var shutdownsAfterGet = admin.Shutdowns;
        using var accepted = await http.PostAsync(new Uri(admin.Uri, "shutdown"), null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
        Assert.Equal(0, shutdownsAfterGet);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("shutting down\n", await accepted.Content.ReadAsStringAsync());
        Assert.Equal(1, admin.Shutdowns);
    }

    [Fact]
    public async Task Get_UnknownPath_Is404()
    {
        await using var admin = await AdminFixture.StartAsync();

        var result = await ExternalCommand.CurlAsync("--output", "/dev/null", "--write-out", "%{http_code}", new Uri(admin.Uri, "nope").ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("404", result.Stdout);
    }

    [Fact]
    public async Task IdleConnection_IsClosedOnceTheIdleTimeoutPasses()
    {
        await using var admin = await AdminFixture.StartAsync();
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);
        await client.SendAsync("GET /live HTTP/1.1\r\nHost: admin\r\n\r\n");
        await client.ReadResponseAsync();

        var closed = client.WaitForCloseAsync(Timeout);

        // The server arms the next request's deadline after it has sent this response; time
        // moves on until that deadline has passed, however late it was armed.
        for (var i = 0; i < 200 && !closed.IsCompleted; i++)
        {
            admin.Time.Advance(AdminFixture.IdleTimeout + TimeSpan.FromSeconds(1));
            await Task.WhenAny(closed, Task.Delay(50));
        }

        await closed;
    }

    [Fact]
    public async Task Dispose_ClosesOpenConnectionsAndStopsAccepting()
    {
        var admin = await AdminFixture.StartAsync();
        var endpoint = admin.EndPoint;
        using var client = await SocketTestExtensions.ConnectAsync(endpoint);
        await client.SendAsync("GET /live HTTP/1.1\r\nHost: admin\r\n\r\n");
        await client.ReadResponseAsync();

        await admin.DisposeAsync();

        await client.WaitForCloseAsync(Timeout);
        await Assert.ThrowsAnyAsync<SocketException>(() => SocketTestExtensions.ConnectAsync(endpoint));
    }

    /// <summary>Sends <paramref name="request"/> on a new connection and reads until the server closes it.</summary>
    private static async Task<string> SendUntilClosedAsync(AdminFixture admin, string request)
    {
        using var client = await SocketTestExtensions.ConnectAsync(admin.EndPoint);
        await client.SendAsync(request);
        return System.Text.Encoding.ASCII.GetString(await client.ReceiveToEndAsync(Timeout));
    }
}
