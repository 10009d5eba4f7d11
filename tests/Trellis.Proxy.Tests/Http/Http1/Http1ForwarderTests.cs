using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1ForwarderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ServeAsync_Get_ForwardsHeadAsReceivedAndResponseBack()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /items?id=1 HTTP/1.1\r\nHost: web.ns:80\r\nX-MiXeD-Case: Value  \r\naccept: */*\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("GET /items?id=1 HTTP/1.1\r\nHost: web.ns:80\r\nX-MiXeD-Case: Value  \r\naccept: */*\r\n\r\n", await upstream.ReadHeadAsync());

        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Server-Case: A\r\n\r\nhello");
        var (head, body) = await client.ReadMessageAsync();
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Server-Case: A\r\n\r\n", head);
        Assert.Equal("hello", body);

        client.Complete();
        await served.WaitAsync(Bound);
        var metrics = harness.Metrics.Registry.Render();
        Assert.Contains("request_total{direction=\"outbound\",authority=\"web.ns:80\",tls=\"false\",client_id=\"\"} 1", metrics);
        Assert.Contains("response_total{direction=\"outbound\",authority=\"web.ns:80\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"success\",grpc_status=\"\"} 1", metrics);
    }

    [Fact]
    public async Task ServeAsync_HopByHopHeaders_AreRemovedBothWays()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
            "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nTrailer: X-T\r\nX-End: 2\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("GET / HTTP/1.1\r\nHost: a\r\nTrailer: X-T\r\nX-End: 2\r\n\r\n", await upstream.ReadHeadAsync());

        await upstream.WriteAsync("HTTP/1.1 204 No Content\r\nConnection: x-up\r\nX-Up: 1\r\nKeep-Alive: timeout=1\r\nDate: today\r\n\r\n");
        Assert.Equal("HTTP/1.1 204 No Content\r\nDate: today\r\n\r\n", await client.ReadHeadAsync());

        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_ChunkedBothWaysWithTrailers_ForwardsChunksAsReceived()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", await upstream.ReadHeadAsync());
        Assert.Equal("5;ext=1\r\nhello\r\n", await upstream.ReadExactlyAsync(16));
        await client.WriteAsync("0\r\nX-Checksum: 9\r\n\r\n");
        Assert.Equal("0\r\nX-Checksum: 9\r\n\r\n", await upstream.ReadExactlyAsync(20));

        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Done: y\r\n\r\n");
        Assert.Equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("3\r\nabc\r\n0\r\nX-Done: y\r\n\r\n", await client.ReadUntilAsync("X-Done: y\r\n\r\n"));

        // The exchange ended cleanly on both sides: the upstream connection is pooled.
        await client.WriteAsync("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal("GET /next HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        Assert.Equal(1, harness.Connector.Connects);
        await upstream.WriteAsync("HTTP/1.1 304 Not Modified\r\n\r\n");
        Assert.Equal("HTTP/1.1 304 Not Modified\r\n\r\n", await client.ReadHeadAsync());

        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_Expect100Continue_ForwardsInterimThenBody()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", await upstream.ReadHeadAsync());

        await upstream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n");
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", await client.ReadHeadAsync());

        await client.WriteAsync("data");
        Assert.Equal("data", await upstream.ReadExactlyAsync(4));
        await upstream.WriteAsync("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", await client.ReadHeadAsync());

        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_Upgrade_TunnelsBytesAfter101()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal(
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nConnection: upgrade\r\n\r\n",
            await upstream.ReadHeadAsync());

        await upstream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nfrom-server");
        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n",
            await client.ReadHeadAsync());
        Assert.Equal("from-server", await client.ReadExactlyAsync(11));

        await client.WriteAsync("\x81\x02hi");
        Assert.Equal("\x81\x02hi", await upstream.ReadExactlyAsync(4));

        client.Complete();
        upstream.Complete();
        await served.WaitAsync(Bound);
        Assert.Equal(string.Empty, await upstream.ReadToEndAsync());
    }

    [Fact]
    public async Task ServeAsync_KeepAlive_SecondRequestReusesPooledUpstream()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
        Assert.Equal("1", (await client.ReadMessageAsync()).Body);

        await client.WriteAsync("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
        Assert.Equal("2", (await client.ReadMessageAsync()).Body);

        client.Complete();
        await served.WaitAsync(Bound);
        Assert.Equal(1, harness.Connector.Connects);
        Assert.Equal(1, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));

        // A second client connection picks up the idle upstream connection too.
        var (other, otherServed) = harness.Connect();
        await other.WriteAsync("GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        Assert.Equal("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n3", await other.ReadToEndAsync());
        await otherServed.WaitAsync(Bound);
        Assert.Equal(1, harness.Connector.Connects);
    }

    [Fact]
    public async Task ServeAsync_PooledConnectionClosedBeforeResponse_RetriesBodylessRequestOnFreshConnection()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();
        await client.WriteAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
        var first = await harness.Connector.AcceptAsync();
        await first.ReadHeadAsync();
        await first.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await client.ReadHeadAsync();

        await client.WriteAsync("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
        await first.ReadHeadAsync();
        first.Complete();

        var second = await harness.Connector.AcceptAsync();
        Assert.Equal("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", await second.ReadHeadAsync());
        await second.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal("ok", (await client.ReadMessageAsync()).Body);

        client.Complete();
        await served.WaitAsync(Bound);
        Assert.Equal(2, harness.Connector.Connects);
    }

    [Fact]
    public async Task ServeAsync_PooledConnectionClosedBeforeResponseToRequestWithBody_Answers502()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();
        await client.WriteAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
        var first = await harness.Connector.AcceptAsync();
        await first.ReadHeadAsync();
        await first.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await client.ReadHeadAsync();

        await client.WriteAsync("POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
        await first.ReadHeadAsync();
        await first.ReadExactlyAsync(2);
        first.Complete();

        var (head, _) = await client.ReadMessageAsync();
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", head);
        Assert.Contains("trellis-proxy-error: upstream closed connection\r\n", head);
        Assert.Equal(1, harness.Connector.Connects);
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_ConnectRefused_Answers502WithReason()
    {
        await using var harness = new Http1Harness();
        harness.Connector.FailWith = ProxyError.ConnectionRefused;
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var (head, body) = await client.ReadMessageAsync();
        Assert.Equal(
            "HTTP/1.1 502 Bad Gateway\r\ntrellis-proxy-error: connection refused\r\ncontent-length: 19\r\nConnection: keep-alive\r\n\r\n",
            head);
        Assert.Equal("connection refused\n", body);
        Assert.Contains(harness.Logger.Entries, entry => entry.Id.Id == 101 && entry.Message.Contains("connection refused", StringComparison.Ordinal));

        client.Complete();
        await served.WaitAsync(Bound);
        Assert.Contains("status_code=\"502\",classification=\"failure\"", harness.Metrics.Registry.Render());
    }

    [Fact]
    public async Task ServeAsync_ConnectTimeoutWithBody_Answers504AndCloses()
    {
        await using var harness = new Http1Harness();
        harness.Connector.FailWith = ProxyError.ConnectTimeout;
        var (client, served) = harness.Connect();

        await client.WriteAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
        var all = await client.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 504 Gateway Timeout\r\ntrellis-proxy-error: connect timeout\r\n", all);
        Assert.Contains("Connection: close\r\n", all);
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_ResponseHeadTimeout_Answers504()
    {
        await using var harness = new Http1Harness(new Http1Options { ResponseHeadersTimeout = TimeSpan.FromSeconds(5) });
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(6));

        var (head, body) = await client.ReadMessageAsync();
        Assert.StartsWith("HTTP/1.1 504 Gateway Timeout\r\ntrellis-proxy-error: response timeout\r\n", head);
        Assert.Equal("response timeout\n", body);

        // The timed-out upstream connection is closed, never pooled.
        Assert.True(await upstream.ClosedAsync());
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_ClientDisconnectsMidBody_AbortsUpstreamAndPoolsNothing()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        Assert.Equal("abc", await upstream.ReadExactlyAsync(3));
        client.Complete();

        await served.WaitAsync(Bound);
        Assert.True(await upstream.ClosedAsync());
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));
        Assert.True(Assert.Single(harness.Connector.Connections).Aborted);
    }

    [Fact]
    public async Task ServeAsync_UpstreamDiesMidResponse_ClosesClient()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        upstream.Complete();

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));
    }

    [Fact]
    public async Task ServeAsync_UpstreamClosesBeforeResponseOnFreshConnection_Answers502()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        upstream.Complete();

        var (head, _) = await client.ReadMessageAsync();
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\ntrellis-proxy-error: upstream closed connection\r\n", head);
        Assert.Equal(1, harness.Connector.Connects);
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_InvalidResponseHead_Answers502ProtocolError()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");

        var (head, _) = await client.ReadMessageAsync();
        Assert.Contains("trellis-proxy-error: upstream protocol error\r\n", head);
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_ResponseUntilClose_ForwardsBodyThenClosesClient()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nstream of bytes");
        upstream.Complete();

        Assert.Equal("HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\nstream of bytes", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_HeadRequest_ResponseHasNoBody()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", await client.ReadHeadAsync());

        await client.WriteAsync("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal("GET /after HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 204 No Content\r\n\r\n");
        Assert.Equal("HTTP/1.1 204 No Content\r\n\r\n", await client.ReadHeadAsync());
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_Http10KeepAlive_KeepsBothConnectionsOpen()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("x", await client.ReadExactlyAsync(1));

        await client.WriteAsync("GET /2 HTTP/1.0\r\n\r\n");
        Assert.Equal("GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\ny");
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\ny", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_Http10ServerClosingEachResponse_KeepsClientConnectionAndAnswersAsHttp11()
    {
        // python3 -m http.server and other HTTP/1.0 servers: Content-Length, then close.
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
        var first = await harness.Connector.AcceptAsync();
        Assert.Equal("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", await first.ReadHeadAsync());
        await first.WriteAsync("HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-Length: 2\r\n\r\nok");
        first.Complete();
        Assert.Equal("HTTP/1.1 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-Length: 2\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal("ok", await client.ReadExactlyAsync(2));

        // Same client connection; the closed upstream connection is not reused.
        await client.WriteAsync("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
        var second = await harness.Connector.AcceptAsync();
        Assert.Equal("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", await second.ReadHeadAsync());
        await second.WriteAsync("HTTP/1.0 404 File not found\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal("HTTP/1.1 404 File not found\r\nContent-Length: 0\r\n\r\n", await client.ReadHeadAsync());
        Assert.Equal(2, harness.Connector.Connects);

        // Without a length the body ends at the close: the client is told so.
        await client.WriteAsync("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
        var third = await harness.Connector.AcceptAsync();
        await third.ReadHeadAsync();
        await third.WriteAsync("HTTP/1.0 200 OK\r\n\r\nuntil close");
        third.Complete();
        Assert.Equal("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_Draining_AnswersInFlightRequestWithCloseAndStops()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        harness.Drain();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_DrainingWhileIdle_ClosesConnection()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();
        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await client.ReadHeadAsync();

        harness.Drain();
        Assert.Equal(string.Empty, await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Bad Request")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "400 Bad Request")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "400 Bad Request")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n", "400 Bad Request")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", "400 Bad Request")]
    [InlineData("GET / HTTP/1.1\r\n\r\n", "400 Bad Request")]
    [InlineData("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "405 Method Not Allowed")]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "505 HTTP Version Not Supported")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400 Bad Request")]
    public async Task ServeAsync_MalformedRequest_RejectsAndCloses(string request, string status)
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync(request);
        var all = await client.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 " + status + "\r\n", all);
        Assert.Contains("connection: close\r\n", all);
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_OversizedHead_Answers431()
    {
        await using var harness = new Http1Harness(new Http1Options { MaxRequestHeadBytes = 1024, MaxRequestLineBytes = 512 });
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('a', 2000));
        Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
        Assert.Equal(0, harness.Connector.Connects);
    }

    [Fact]
    public async Task ServeAsync_LongRequestLine_Answers414()
    {
        await using var harness = new Http1Harness(new Http1Options { MaxRequestLineBytes = 100 });
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /" + new string('a', 200));
        Assert.StartsWith("HTTP/1.1 414 URI Too Long\r\n", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_MalformedChunkAfterResponseHeadWait_Answers400AndAbortsUpstream()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        Assert.Equal("2\r\nok\r\n", await upstream.ReadExactlyAsync(7));
        await client.WriteAsync("-1\r\n");

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
        Assert.True(await upstream.ClosedAsync());
    }

    [Fact]
    public async Task ServeAsync_ClientClosesWhileAwaitingResponse_AbortsUpstream()
    {
        await using var harness = new Http1Harness();
        var (client, served, context) = harness.ConnectWithContext();

        await client.WriteAsync("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        context.Abort();

        await served.WaitAsync(Bound);
        Assert.True(await upstream.ClosedAsync());
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));
    }

    [Fact]
    public async Task ServeAsync_ConnectionNamesFramingField_FramingFieldIsKept()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, Host\r\nContent-Length: 2\r\n\r\nok");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n", await upstream.ReadHeadAsync());
        Assert.Equal("ok", await upstream.ReadExactlyAsync(2));
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        await client.ReadHeadAsync();

        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_PipelinedRequests_AreServedInOrder()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
        Assert.Equal("1", (await client.ReadMessageAsync()).Body);
        Assert.Equal("GET /2 HTTP/1.1\r\nHost: b\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
        Assert.Equal("2", (await client.ReadMessageAsync()).Body);

        client.Complete();
        await served.WaitAsync(Bound);
        var metrics = harness.Metrics.Registry.Render();
        Assert.Contains("request_total{direction=\"outbound\",authority=\"a\",tls=\"false\",client_id=\"\"} 1", metrics);
        Assert.Contains("request_total{direction=\"outbound\",authority=\"b\",tls=\"false\",client_id=\"\"} 1", metrics);
    }

    [Fact]
    public async Task ServeAsync_UpstreamAsksToClose_ConnectionIsNotPooled()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");

        // The client connection stays up: the response was delimited by its Content-Length.
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", await client.ReadHeadAsync());
        Assert.True(await upstream.ClosedAsync());
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));

        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_InterimResponseToHttp10Client_IsNotForwarded()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.0\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_101WithoutUpgradeRequest_Answers502()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");

        var (head, _) = await client.ReadMessageAsync();
        Assert.Contains("trellis-proxy-error: upstream protocol error\r\n", head);
        client.Complete();
        await served.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServeAsync_UpstreamFinalResponseBeforeExpectedBody_ClosesClientAfterResponse()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        await upstream.WriteAsync("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");

        // The body was never sent, so where the next request would start is unknown: close.
        Assert.Equal("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", await client.ReadToEndAsync());
        await served.WaitAsync(Bound);
        Assert.Equal(0, harness.Forwarder.Pool.IdleCount(Http1Harness.Target));
    }

    [Fact]
    public async Task ServeAsync_ResponseTimeoutWhileBodyBlockedOnUpstream_Answers504AndCloses()
    {
        await using var harness = new Http1Harness(new Http1Options { ResponseHeadersTimeout = TimeSpan.FromSeconds(5) });
        var (client, served) = harness.Connect();

        // The upstream reads nothing, so the body copy stalls on backpressure mid-body.
        var sending = client.WriteAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + new string('x', 1_000_000));
        var upstream = await harness.Connector.AcceptAsync();
        await upstream.ReadHeadAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(6));

        var all = await client.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 504 Gateway Timeout\r\n", all);
        Assert.Contains("Connection: close\r\n", all);
        await served.WaitAsync(Bound);
        await sending.WaitAsync(Bound);
        Assert.True(await upstream.ClosedAsync());
    }

    [Fact]
    public async Task ServeAsync_EmptyLinesBeforeRequestSplitAcrossReads_AreIgnored()
    {
        await using var harness = new Http1Harness();
        var (client, served) = harness.Connect();

        await client.WriteAsync("\r");
        await client.WriteAsync("\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var upstream = await harness.Connector.AcceptAsync();
        Assert.Equal("GET / HTTP/1.1\r\nHost: a\r\n\r\n", await upstream.ReadHeadAsync());
        await upstream.WriteAsync("HTTP/1.1 204 No Content\r\n\r\n");
        Assert.Equal("HTTP/1.1 204 No Content\r\n\r\n", await client.ReadHeadAsync());

        client.Complete();
        await served.WaitAsync(Bound);
    }
}
