using System.Security.Cryptography;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// curl through the published proxy's outbound listener to an origin named by
/// --outbound-destination: what crosses the proxy, byte for byte, and what it counts.
/// </summary>
public class Http1ForwardingTests
{
    private const string OutboundDst = "tcp_open_total{direction=\"outbound\",peer=\"dst\",tls=\"false\"}";
    private const string OutboundSrc = "tcp_open_total{direction=\"outbound\",peer=\"src\",tls=\"false\"}";

    [Fact]
    public async Task TwoRequestsOnOneClientConnection_ReuseOneUpstreamConnection()
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);

        var curl = await ExternalCommand.CurlAsync("-v", $"http://{proxy.Outbound}/", $"http://{proxy.Outbound}/status/201");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal("hello\nstatus 201\n", curl.Stdout);
        // curl kept its connection to the proxy, so the proxy's keep-alive answer was right...
        Assert.Contains("Re-using existing connection", curl.Stderr, StringComparison.Ordinal);
        var metrics = await proxy.MetricsAsync();
        Assert.Equal(1, MetricsText.Series(metrics, OutboundSrc));
        // ...and the proxy sent the second request on the upstream connection of the first.
        Assert.Equal(1, MetricsText.Series(metrics, OutboundDst));
        Assert.Equal(2, MetricsText.Sum(metrics, "response_total", "direction=\"outbound\"", "classification=\"success\""));
    }

    [Fact]
    public async Task HeaderNameCase_ReachesTheOriginAsSent()
    {
        await using var origin = new HeadRecordingOrigin();
        await using var proxy = await StartProxyAsync(origin.EndPoint);

        var curl = await ExternalCommand.CurlAsync("-H", "X-MiXeD-Case: Value", $"http://{proxy.Outbound}/case");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal("ok\n", curl.Stdout);
        var head = Assert.Single(origin.Heads);
        Assert.StartsWith("GET /case HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Contains("\r\nX-MiXeD-Case: Value\r\n", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HopByHopFields_AreRemovedAndTheRestKept()
    {
        await using var origin = new HeadRecordingOrigin();
        await using var proxy = await StartProxyAsync(origin.EndPoint);

        var curl = await ExternalCommand.CurlAsync(
            "-H", "Connection: keep-alive, X-Per-Hop",
            "-H", "X-Per-Hop: dropped",
            "-H", "Keep-Alive: timeout=5",
            "-H", "Proxy-Connection: keep-alive",
            "-H", "TE: trailers",
            "-H", "X-End-To-End: kept",
            $"http://{proxy.Outbound}/hop");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        var head = Assert.Single(origin.Heads);
        foreach (var name in new[] { "X-Per-Hop:", "Keep-Alive:", "Proxy-Connection:", "TE:" })
        {
            Assert.DoesNotContain("\r\n" + name, head, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("\r\nX-End-To-End: kept\r\n", head, StringComparison.Ordinal);
        Assert.Contains("\r\nHost: " + proxy.Outbound + "\r\n", head, StringComparison.Ordinal);
        // The client's Connection field is replaced by one for the proxy's own hop, never passed on.
        Assert.DoesNotContain("X-Per-Hop", head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ExpectContinueUpload_IsEchoedAndTheNextRequestWorks()
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var directory = new TemporaryDirectory();
        var file = directory.Combine("upload.bin");
        var payload = RandomNumberGenerator.GetBytes(6 * 1024);
        await File.WriteAllBytesAsync(file, payload);
        var echoed = directory.Combine("echoed.bin");

        var curl = await ExternalCommand.CurlAsync(
            "-v", "-H", "Expect: 100-continue", "--expect100-timeout", "30",
            "--data-binary", "@" + file, "-o", echoed, $"http://{proxy.Outbound}/echo");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        // The interim response crossed the proxy: curl waited for it (the timeout is 30 s) and logged it.
        Assert.Contains("HTTP/1.1 100 Continue", curl.Stderr, StringComparison.Ordinal);
        Assert.Contains("x-saw-expect: 100-continue", curl.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(payload, await File.ReadAllBytesAsync(echoed));
        await AssertServesAsync(proxy);
    }

    [Fact]
    public async Task ChunkedUpload_IsEchoedAndTheNextRequestWorks()
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);
        using var directory = new TemporaryDirectory();
        var file = directory.Combine("upload.bin");
        var payload = RandomNumberGenerator.GetBytes(40 * 1024);
        await File.WriteAllBytesAsync(file, payload);
        var echoed = directory.Combine("echoed.bin");

        var curl = await ExternalCommand.CurlAsync(
            "-v", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file, "-o", echoed, $"http://{proxy.Outbound}/echo");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Contains("x-saw-transfer-encoding: chunked", curl.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(payload, await File.ReadAllBytesAsync(echoed));
        await AssertServesAsync(proxy);
    }

    [Fact]
    public async Task Metrics_CountRequestsAndResponsesByAuthorityAndStatus()
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await StartProxyAsync(origin);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, (await ExternalCommand.CurlAsync("-H", "Host: web.test:8080", $"http://{proxy.Outbound}/")).ExitCode);
        }

        Assert.Equal(0, (await ExternalCommand.CurlAsync("-H", "Host: web.test:8080", $"http://{proxy.Outbound}/status/503")).ExitCode);
        Assert.Equal(0, (await ExternalCommand.CurlAsync("-H", "Host: api.test", $"http://{proxy.Outbound}/status/404")).ExitCode);

        var metrics = await proxy.MetricsAsync();
        Assert.Equal(4, MetricsText.Series(metrics, "request_total{direction=\"outbound\",authority=\"web.test:8080\",tls=\"false\",client_id=\"\"}"));
        Assert.Equal(1, MetricsText.Series(metrics, "request_total{direction=\"outbound\",authority=\"api.test\",tls=\"false\",client_id=\"\"}"));
        Assert.Equal(3, MetricsText.Sum(metrics, "response_total", "authority=\"web.test:8080\"", "status_code=\"200\"", "classification=\"success\""));
        Assert.Equal(1, MetricsText.Sum(metrics, "response_total", "authority=\"web.test:8080\"", "status_code=\"503\"", "classification=\"failure\""));
        Assert.Equal(1, MetricsText.Sum(metrics, "response_total", "authority=\"api.test\"", "status_code=\"404\"", "classification=\"success\""));
    }

    internal static Task<ProxyProcess> StartProxyAsync(KestrelOrigin origin, params string[] more) => StartProxyAsync(origin.EndPoint, more);

    internal static Task<ProxyProcess> StartProxyAsync(System.Net.IPEndPoint destination, params string[] more) =>
        ProxyProcess.StartAsync(["--outbound-destination", destination.ToString(), .. more]);

    /// <summary>A plain GET through the proxy on a new connection still gets the origin's answer.</summary>
    internal static async Task AssertServesAsync(ProxyProcess proxy)
    {
        var curl = await ExternalCommand.CurlAsync($"http://{proxy.Outbound}/");
        Assert.True(curl.ExitCode == 0 && curl.Stdout == "hello\n", "the proxy stopped serving: " + curl + "\n" + proxy.Log);
    }
}
