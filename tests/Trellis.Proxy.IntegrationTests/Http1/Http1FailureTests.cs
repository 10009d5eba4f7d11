using System.Net.Sockets;
using System.Text;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// Failures on either side of the proxy: each is reported as the issue says (a close, a 502 or
/// a 504 with <c>trellis-proxy-error</c>), and the proxy serves the next request.
/// </summary>
public class Http1FailureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientDisconnectsMidBody_ProxyKeepsServing(bool reset)
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(origin);

        using (var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound))
        {
            await client.SendAsync("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"u8.ToArray(), SocketFlags.None);
            // Kestrel sends 100 Continue once the endpoint starts reading: the exchange is under way.
            var interim = Encoding.ASCII.GetString(await client.ReceiveExactlyAsync("HTTP/1.1 100 Continue\r\n\r\n".Length, Patience));
            Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", interim);
            await client.SendAsync(new byte[10_000], SocketFlags.None);
            if (reset)
            {
                client.LingerState = new LingerOption(true, 0);
            }
        }

        await Http1ForwardingTests.AssertServesAsync(proxy);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task UpstreamDiesMidResponse_ClientSeesTheCloseAndTheNextRequestIsServed()
    {
        var connections = 0;
        await using var origin = new LoopbackTcpServer(async (stream, cancellationToken) =>
        {
            await ReadHeadAsync(stream, cancellationToken);
            if (Interlocked.Increment(ref connections) == 1)
            {
                // Promises 1000 bytes, sends 7, and hangs up.
                await stream.WriteAsync("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial"u8.ToArray(), cancellationToken);
                return;
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nwhole\n"u8.ToArray(), cancellationToken);
        });
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(origin.EndPoint);

        var broken = await ExternalCommand.CurlAsync($"http://{proxy.Outbound}/first");

        // 18: transfer closed with bytes remaining; 56: the proxy reset the connection instead.
        Assert.True(broken.ExitCode is 18 or 56, broken.ToString());
        Assert.Equal("partial", broken.Stdout);
        var next = await ExternalCommand.CurlAsync($"http://{proxy.Outbound}/second");
        Assert.True(next.ExitCode == 0 && next.Stdout == "whole\n", next.ToString());
    }

    [Fact]
    public async Task UpstreamRefuses_502ConnectionRefusedOnEveryRequest()
    {
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(UnusedPort.Loopback());

        var curl = await ExternalCommand.CurlAsync("-v", "-i", $"http://{proxy.Outbound}/a", $"http://{proxy.Outbound}/b");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        var responses = curl.Stdout.Split("HTTP/1.1 ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, responses.Length);
        foreach (var response in responses)
        {
            Assert.StartsWith("502 ", response, StringComparison.Ordinal);
            Assert.Contains("trellis-proxy-error: connection refused\r\n", response, StringComparison.Ordinal);
        }

        // The failure was the upstream's, not the client connection's: it stayed open for the second request.
        Assert.Contains("Re-using existing connection", curl.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowUpstream_504ResponseTimeoutThenTheNextRequestIsServed()
    {
        await using var origin = new HeadRecordingOrigin();
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(origin.EndPoint, "--response-timeout", "300ms");
        var warmUpTimeouts = await WarmUpAsync(proxy);

        var curl = await ExternalCommand.CurlAsync("-i", $"http://{proxy.Outbound}/hang", $"http://{proxy.Outbound}/after");

        Assert.True(curl.ExitCode == 0, curl.ToString());
        var responses = curl.Stdout.Split("HTTP/1.1 ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, responses.Length);
        Assert.StartsWith("504 ", responses[0], StringComparison.Ordinal);
        Assert.Contains("trellis-proxy-error: response timeout\r\n", responses[0], StringComparison.Ordinal);
        // The connection survived the timeout and carried the next request. On a machine loaded
        // enough to delay even this origin past 300 ms that one may time out too; the proxy must
        // then still answer it properly and serve a later one.
        var timeouts = warmUpTimeouts + 1;
        var next = responses[1];
        for (var attempt = 0; attempt < 10 && next.StartsWith("504 ", StringComparison.Ordinal); attempt++)
        {
            Assert.Contains("trellis-proxy-error: response timeout\r\n", next, StringComparison.Ordinal);
            timeouts++;
            next = (await ExternalCommand.CurlAsync("-i", $"http://{proxy.Outbound}/after")).Stdout["HTTP/1.1 ".Length..];
        }

        Assert.True(next.StartsWith("200 ", StringComparison.Ordinal) && next.EndsWith("\r\n\r\nok\n", StringComparison.Ordinal), next + proxy.Log);
        var metrics = await proxy.MetricsAsync();
        // The proxy's own 504 is recorded as what the client was answered: a failure.
        Assert.Equal(timeouts, MetricsText.Sum(metrics, "response_total", "status_code=\"504\"", "classification=\"failure\""));
    }

    /// <summary>
    /// Gets one answer through the proxy before a test whose timeout is short: the first
    /// exchange pays for connection set-up in every process involved, which on a loaded
    /// machine can exceed 300 ms without anything being wrong. Returns how many warm-up
    /// attempts the proxy answered with its own 504, since those count in its metrics too.
    /// </summary>
    private static async Task<int> WarmUpAsync(ProxyProcess proxy)
    {
        var timeouts = 0;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var status = (await ExternalCommand.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", $"http://{proxy.Outbound}/warm-up")).Stdout;
            if (status == "200")
            {
                return timeouts;
            }

            timeouts += status == "504" ? 1 : 0;
        }

        Assert.Fail("no answer through the proxy to warm up with:\n" + proxy.Log);
        return timeouts;
    }

    private static async Task ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("the client closed before its head was complete");
            }

            seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }
}
