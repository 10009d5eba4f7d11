using Grpc.Core;
using Grpc.Net.Client;
using Trellis.Proxy.Tests.Http.Http2.Echo;
using EchoContract = Trellis.Proxy.Tests.Http.Http2.Echo.Echo;

namespace Trellis.Proxy.IntegrationTests.Http2;

/// <summary>
/// gRPC through the published proxy: Grpc.Net.Client speaking h2c to the outbound listener,
/// the proxy detecting the HTTP/2 preface and forwarding to Grpc.AspNetCore. Every call kind,
/// and the grpc-status of a failed call in the metrics.
/// </summary>
public class GrpcTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Unary_AnswersThroughTheProxyAndIsCountedWithGrpcStatusZero()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var channel = Channel(proxy);
        var client = new EchoContract.EchoClient(channel);

        var reply = await client.UnaryAsync(new EchoRequest { Text = "hi" }, deadline: Deadline());

        Assert.Equal("hi", reply.Text);
        Assert.Equal(proxy.Outbound.ToString(), reply.Authority);
        var second = await client.UnaryAsync(new EchoRequest { Text = "again" }, deadline: Deadline());
        Assert.Equal("again", second.Text);
        var metrics = await proxy.MetricsAsync();
        var authority = $"authority=\"{proxy.Outbound}\"";
        Assert.Equal(2, MetricsText.Sum(metrics, "request_total", "direction=\"outbound\"", authority));
        Assert.Equal(2, MetricsText.Sum(metrics, "response_total", authority, "status_code=\"200\"", "classification=\"success\"", "grpc_status=\"0\""));
    }

    [Fact]
    public async Task ServerStreaming_AllMessagesArriveInOrder()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var channel = Channel(proxy);
        var client = new EchoContract.EchoClient(channel);

        using var call = client.ServerStream(new EchoRequest { Text = "tick", Count = 50 }, deadline: Deadline());
        var replies = new List<EchoReply>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            replies.Add(reply);
        }

        Assert.Equal(Enumerable.Range(0, 50), replies.Select(r => r.Index));
        Assert.Equal("tick 49", replies[^1].Text);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_TheServerSeesEveryMessage()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var channel = Channel(proxy);
        var client = new EchoContract.EchoClient(channel);

        using var call = client.ClientStream(deadline: Deadline());
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync;

        Assert.Equal("a+b+c", reply.Text);
        Assert.Equal(3, reply.Index);
    }

    [Fact]
    public async Task Bidi_EachMessageIsAnsweredBeforeTheNextIsSent()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var channel = Channel(proxy);
        var client = new EchoContract.EchoClient(channel);

        using var call = client.Bidi(deadline: Deadline());
        for (var i = 0; i < 5; i++)
        {
            // Lock-step: a proxy that buffered either direction until the end would hang here.
            await call.RequestStream.WriteAsync(new EchoRequest { Text = $"ping {i}" });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal($"ping {i}", call.ResponseStream.Current.Text);
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task FailedCall_StatusReachesTheClientAndTheMetricsThenTheNextCallWorks()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var channel = Channel(proxy);
        var client = new EchoContract.EchoClient(channel);

        var failure = await Assert.ThrowsAsync<RpcException>(
            async () => await client.UnaryAsync(new EchoRequest { Text = "x", FailWith = (int)StatusCode.NotFound }, deadline: Deadline()));

        Assert.Equal(StatusCode.NotFound, failure.StatusCode);
        Assert.Equal("failed as asked", failure.Status.Detail);
        Assert.Equal("ok", (await client.UnaryAsync(new EchoRequest { Text = "ok" }, deadline: Deadline())).Text);
        var metrics = await proxy.MetricsAsync();
        // A gRPC error travels in a 200 response: only grpc_status tells it apart, and makes it a failure.
        Assert.Equal(1, MetricsText.Sum(metrics, "response_total", "status_code=\"200\"", "classification=\"failure\"", "grpc_status=\"5\""));
        Assert.Equal(1, MetricsText.Sum(metrics, "response_total", "status_code=\"200\"", "classification=\"success\"", "grpc_status=\"0\""));
    }

    internal static Task<ProxyProcess> StartProxyAsync(KestrelOrigin origin) =>
        ProxyProcess.StartAsync(["--outbound-destination", origin.EndPoint.ToString()]);

    /// <summary>
    /// h2c with prior knowledge: an <c>http://</c> address and SocketsHttpHandler are enough on
    /// .NET 5 and later (gRPC asks for HTTP/2 exactly); the old Http2UnencryptedSupport switch is
    /// not needed, and not set here so the test would notice if it were.
    /// </summary>
    private static GrpcChannel Channel(ProxyProcess proxy) =>
        GrpcChannel.ForAddress($"http://{proxy.Outbound}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler() });

    private static DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + Patience;
}
