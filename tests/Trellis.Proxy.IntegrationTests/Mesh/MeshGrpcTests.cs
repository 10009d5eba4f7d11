using Grpc.Core;
using Grpc.Net.Client;
using Trellis.Proxy.IntegrationTests.Http2;
using Trellis.Proxy.Tests.Http.Http2.Echo;

namespace Trellis.Proxy.IntegrationTests.Mesh;

/// <summary>HTTP/2 across the mesh: gRPC from Grpc.Net.Client through both proxies, mTLS between them.</summary>
public class MeshGrpcTests
{
    [Fact]
    public async Task Grpc_UnaryAndBidiCrossTheMeshAndAreCountedAsTlsInbound()
    {
        using var mesh = new MeshFixture();
        await using var origin = await Http2Origin.StartAsync();
        await using var server = await mesh.StartServerProxyAsync(origin.EndPoint);
        await using var relay = new RecordingRelay(server.Inbound);
        await using var client = await mesh.StartClientProxyAsync(relay.EndPoint, MeshPki.Id("server"));
        using var channel = GrpcChannel.ForAddress($"http://{client.Outbound}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler() });
        var echo = new Echo.EchoClient(channel);
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(20);

        Assert.Equal("across", (await echo.UnaryAsync(new EchoRequest { Text = "across" }, deadline: deadline)).Text);
        using (var call = echo.Bidi(deadline: deadline))
        {
            for (var i = 0; i < 3; i++)
            {
                await call.RequestStream.WriteAsync(new EchoRequest { Text = $"ping {i}" });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Equal($"ping {i}", call.ResponseStream.Current.Text);
            }

            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        }

        var sent = relay.SentToTarget();
        Assert.True(sent.Length > 0 && sent[0] == 0x16, "the mesh hop did not start with a TLS handshake record");
        Assert.True(sent.AsSpan().IndexOf("PRI * HTTP/2.0"u8) < 0, "the HTTP/2 preface crossed the mesh hop in plaintext");
        var metrics = await server.MetricsAsync();
        Assert.Equal(2, MetricsText.Sum(metrics, "response_total", "direction=\"inbound\"", "tls=\"true\"", "grpc_status=\"0\""));
    }
}
