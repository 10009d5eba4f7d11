using System.Text;
using Trellis.Proxy.IntegrationTests.Http1;

namespace Trellis.Proxy.IntegrationTests.Mesh;

/// <summary>
/// Two published proxies joined by mTLS, identities from files of a throwaway PKI: curl talks
/// plaintext to the client proxy's outbound listener, the hop to the server proxy's inbound
/// listener is mTLS (checked by a byte-recording relay placed on it), and the server proxy
/// hands plaintext to the origin.
/// </summary>
public class MeshTlsTests
{
    private const string Marker = "x-plaintext-marker-4711";

    [Fact]
    public async Task Request_CrossesTheMeshHopEncryptedAndIsCountedAsTls()
    {
        using var mesh = new MeshFixture();
        await using var origin = new HeadRecordingOrigin();
        await using var server = await mesh.StartServerProxyAsync(origin);
        await using var relay = new RecordingRelay(server.Inbound);
        await using var client = await mesh.StartClientProxyAsync(relay.EndPoint, MeshPki.Id("server"));

        var curl = await ExternalCommand.CurlAsync("-H", "X-Secret: " + Marker, $"http://{client.Outbound}/through-the-mesh", $"http://{client.Outbound}/again");

        Assert.True(curl.ExitCode == 0 && curl.Stdout == "ok\nok\n", curl + client.Log + server.Log);
        Assert.Equal(2, origin.Heads.Count);
        Assert.Contains("\r\nX-Secret: " + Marker + "\r\n", origin.Heads[0], StringComparison.Ordinal);

        // On the wire between the proxies: a TLS handshake record first, and no plaintext either way.
        var sent = relay.SentToTarget();
        var received = relay.ReceivedFromTarget();
        Assert.True(sent.Length > 0 && sent[0] == 0x16, "the mesh hop did not start with a TLS handshake record");
        foreach (var plaintext in new[] { "GET /", "through-the-mesh", Marker, "HTTP/1.1" })
        {
            Assert.False(Contains(sent, plaintext), $"'{plaintext}' crossed the mesh hop in plaintext");
            Assert.False(Contains(received, plaintext), $"'{plaintext}' came back over the mesh hop in plaintext");
        }

        var serverMetrics = await server.MetricsAsync();
        Assert.Equal(2, MetricsText.Sum(serverMetrics, "request_total", "direction=\"inbound\"", "tls=\"true\""));
        Assert.Equal(0, MetricsText.Sum(serverMetrics, "request_total", "direction=\"inbound\"", "tls=\"false\""));
        Assert.Equal(2, MetricsText.Sum(serverMetrics, "response_total", "direction=\"inbound\"", "tls=\"true\"", "status_code=\"200\""));
        // The caller is known by its verified identity; the caller's proxy knows whom it reached.
        Assert.Equal(2, MetricsText.Sum(serverMetrics, "request_total", $"client_id=\"{MeshPki.Id("client")}\""));
        // The meshed connection itself is counted as TLS, not as the ciphertext it arrived as.
        Assert.True(MetricsText.Sum(serverMetrics, "tcp_open_total", "direction=\"inbound\"", "peer=\"src\"", "tls=\"true\"") >= 1, serverMetrics);
        Assert.Equal(0, MetricsText.Sum(serverMetrics, "tcp_open_total", "direction=\"inbound\"", "peer=\"src\"", "tls=\"false\""));
        var clientMetrics = await client.MetricsAsync();
        Assert.Equal(2, MetricsText.Sum(clientMetrics, "response_total", "direction=\"outbound\"", $"server_id=\"{MeshPki.Id("server")}\""));
        Assert.True(MetricsText.Sum(clientMetrics, "tcp_open_total", "direction=\"outbound\"", "peer=\"dst\"", "tls=\"true\"") >= 1, clientMetrics);
    }

    [Fact]
    public async Task ServerWithAnotherIdentity_Is502AndNothingReachesTheOrigin()
    {
        using var mesh = new MeshFixture();
        await using var origin = new HeadRecordingOrigin();
        await using var server = await mesh.StartServerProxyAsync(origin);
        var expected = MeshPki.Id("payments");
        await using var client = await mesh.StartClientProxyAsync(server.Inbound, expected);

        var curl = await ExternalCommand.CurlAsync("-i", $"http://{client.Outbound}/", $"http://{client.Outbound}/");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        var responses = curl.Stdout.Split("HTTP/1.1 ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, responses.Length);
        foreach (var response in responses)
        {
            Assert.StartsWith("502 ", response, StringComparison.Ordinal);
            Assert.Contains("trellis-proxy-error: upstream protocol error\r\n", response, StringComparison.Ordinal);
        }

        Assert.Empty(origin.Heads);
        // The operator learns which identity answered and which was expected.
        Assert.True(await client.WaitForLogAsync($"peer identity is {MeshPki.Id("server")}, expected {expected}", TimeSpan.FromSeconds(10)), client.Log);
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle)) >= 0;
}
