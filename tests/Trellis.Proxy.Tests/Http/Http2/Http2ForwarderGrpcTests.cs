using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Tests.Http.Http2.Echo;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// Component tests: Grpc.Net.Client -> loopback -> Http2Forwarder -> in-process gRPC server.
/// </summary>
public sealed class Http2ForwarderGrpcTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private GrpcTestServer _server = null!;
    private Http2ProxyHarness _proxy = null!;
    private GrpcChannel _channel = null!;
    private Echo.Echo.EchoClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await GrpcTestServer.StartAsync();
        _proxy = new Http2ProxyHarness(_server.Endpoint);
        (_channel, _client) = Connect(_proxy);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Unary_ThroughForwarder_ReturnsReplyTrailersAndOriginalAuthority()
    {
        var call = _client.UnaryAsync(new EchoRequest { Text = "hello" });
        var reply = await call.ResponseAsync;

        Assert.Equal("hello", reply.Text);
        Assert.Equal(Authority, reply.Authority);
        Assert.Equal("kept", call.GetTrailers().GetValue("echo-trailer"));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Unary_Ok_RecordsRequestAndSuccessResponseSeries()
    {
        await _client.UnaryAsync(new EchoRequest { Text = "m" });

        var text = await _proxy.WaitForMetricAsync(
            $"response_total{{direction=\"outbound\",authority=\"{Authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"success\",grpc_status=\"0\"}} 1\n");
        Assert.Contains($"request_total{{direction=\"outbound\",authority=\"{Authority}\",tls=\"false\",client_id=\"\"}} 1\n", text);
        Assert.Contains(
            $"response_latency_ms_count{{direction=\"outbound\",authority=\"{Authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"success\",grpc_status=\"0\"}} 1\n",
            text);
    }

    [Fact]
    public async Task ServerStream_ThroughForwarder_StreamsEveryReply()
    {
        using var call = _client.ServerStream(new EchoRequest { Text = "s", Count = 5 });

        var indexes = new List<int>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            indexes.Add(reply.Index);
        }

        Assert.Equal([0, 1, 2, 3, 4], indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStream_ThroughForwarder_ServerSeesEveryRequest()
    {
        using var call = _client.ClientStream();
        foreach (var part in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = part });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync;

        Assert.Equal("abc", reply.Text);
        Assert.Equal(3, reply.Index);
    }

    [Fact]
    public async Task Bidi_ThroughForwarder_EachRequestAnsweredBeforeTheNextIsSent()
    {
        using var call = _client.Bidi();
        for (var i = 0; i < 3; i++)
        {
            // Lock-step: proves bodies stream both ways instead of being buffered.
            await call.RequestStream.WriteAsync(new EchoRequest { Text = $"m{i}" });
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Bound));
            Assert.Equal($"m{i}", call.ResponseStream.Current.Text);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Unary_MessagesLargerThanEveryWindow_ArriveWhole()
    {
        // 1 MB each way: many times the 64 KiB stream windows, so flow control must cycle.
        var text = new string('x', 1024 * 1024);

        var reply = await _client.UnaryAsync(new EchoRequest { Text = text }).ResponseAsync.WaitAsync(Bound);

        Assert.Equal(text, reply.Text);
    }

    [Fact]
    public async Task Unary_ManyConcurrentLargeCalls_ShareTheConnectionWindows()
    {
        var calls = new Task<EchoReply>[16];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = _client.UnaryAsync(new EchoRequest { Text = new string((char)('a' + i), 200 * 1024) }).ResponseAsync;
        }

        var replies = await Task.WhenAll(calls).WaitAsync(Bound);

        for (var i = 0; i < calls.Length; i++)
        {
            Assert.Equal(new string((char)('a' + i), 200 * 1024), replies[i].Text);
        }
    }

    [Fact]
    public async Task Unary_ServerFailsWithNotFound_StatusPassesThroughAndIsRecordedAsFailure()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(new EchoRequest { FailWith = (int)StatusCode.NotFound }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("requested failure", e.Status.Detail);
        Assert.Null(e.Trailers.GetValue("trellis-proxy-error"));
        await _proxy.WaitForMetricAsync(
            $"response_total{{direction=\"outbound\",authority=\"{Authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"failure\",grpc_status=\"5\"}} 1\n");
    }

    [Fact]
    public async Task Unary_ClientDeadline_CancelsServerCall()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(new EchoRequest { Hang = true }, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await _server.Probe.Cancelled.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task ServerStream_ClientCancels_CancelsServerCallAndRecordsCancelled()
    {
        using var cancel = new CancellationTokenSource();
        using var call = _client.ServerStream(new EchoRequest { Count = 1, Hang = true }, cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Bound));

        await cancel.CancelAsync();

        await _server.Probe.Cancelled.Task.WaitAsync(Bound);
        await _proxy.WaitForMetricAsync(
            $"response_total{{direction=\"outbound\",authority=\"{Authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"failure\",grpc_status=\"1\"}} 1\n");
    }

    [Fact]
    public async Task ServerStream_ServerResetsStream_ClientCallFails()
    {
        using var call = _client.ServerStream(new EchoRequest { Count = 1, Abort = true });

        // The reset may overtake the first reply; either way the call must fail, not end OK.
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext().WaitAsync(Bound))
            {
            }
        });

        Assert.NotEqual(StatusCode.OK, e.StatusCode);
        await _proxy.WaitForMetricAsync("classification=\"failure\",grpc_status=\"14\"} 1\n");
    }

    [Fact]
    public async Task Unary_ManyCallsSequentialAndConcurrent_ShareOneUpstreamConnection()
    {
        var ids = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _client.UnaryAsync(new EchoRequest())).ConnectionId);
        }

        var concurrent = new Task<EchoReply>[20];
        for (var i = 0; i < concurrent.Length; i++)
        {
            concurrent[i] = _client.UnaryAsync(new EchoRequest()).ResponseAsync;
        }

        foreach (var reply in await Task.WhenAll(concurrent))
        {
            ids.Add(reply.ConnectionId);
        }

        Assert.Single(ids);
    }

    [Fact]
    public async Task Unary_UpstreamRefuses_UnavailableWithProxyErrorAndMetric()
    {
        using var closedPort = BoundButNotListening();
        await using var proxy = new Http2ProxyHarness((IPEndPoint)closedPort.LocalEndPoint!);
        var (channel, client) = Connect(proxy);
        using var _ = channel;

        var e = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(new EchoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("connection refused", e.Trailers.GetValue("trellis-proxy-error"));
        var authority = $"127.0.0.1:{proxy.Endpoint.Port}";
        await proxy.WaitForMetricAsync(
            $"response_total{{direction=\"outbound\",authority=\"{authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"failure\",grpc_status=\"14\"}} 1\n");
    }

    [Fact]
    public async Task Unary_UpstreamSilentPastResponseIdleTimeout_DeadlineExceededWithProxyError()
    {
        await using var proxy = new Http2ProxyHarness(_server.Endpoint, new Http2Options { ResponseIdleTimeout = TimeSpan.FromMilliseconds(300) });
        var (channel, client) = Connect(proxy);
        using var _ = channel;

        var e = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(new EchoRequest { Hang = true }).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("response timeout", e.Trailers.GetValue("trellis-proxy-error"));
        await _server.Probe.Cancelled.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task PlainRequest_UpstreamRefuses_502WithProxyErrorHeader()
    {
        using var closedPort = BoundButNotListening();
        await using var proxy = new Http2ProxyHarness((IPEndPoint)closedPort.LocalEndPoint!);
        using var http = new HttpClient(new SocketsHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{proxy.Endpoint}/")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("connection refused", Assert.Single(response.Headers.GetValues("trellis-proxy-error")));
        await proxy.WaitForMetricAsync("status_code=\"502\",classification=\"failure\",grpc_status=\"\"} 1\n");
    }

    [Fact]
    public async Task DrainAsync_StreamInFlight_FinishesItThenRefusesNewConnections()
    {
        using var call = _client.Bidi();
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "before" });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Bound));

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var drain = _proxy.Forwarder.DrainAsync(deadline.Token);

        // The in-flight stream keeps working after GOAWAY.
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "during" });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Bound));
        Assert.Equal("during", call.ResponseStream.Current.Text);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        await drain.WaitAsync(Bound);
        Assert.False(deadline.IsCancellationRequested);

        var (channel, client) = Connect(_proxy);
        using var _ = channel;
        await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(new EchoRequest()).ResponseAsync);
    }

    private string Authority => $"127.0.0.1:{_proxy.Endpoint.Port}";

    private static (GrpcChannel, Echo.Echo.EchoClient) Connect(Http2ProxyHarness proxy)
    {
        var channel = GrpcChannel.ForAddress($"http://{proxy.Endpoint}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler() });
        return (channel, new Echo.Echo.EchoClient(channel));
    }

    /// <summary>A loopback port that answers connects with RST: bound, never listening, held for the test.</summary>
    private static Socket BoundButNotListening()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
