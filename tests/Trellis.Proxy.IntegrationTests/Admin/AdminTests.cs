using System.Net;
using System.Net.Sockets;

namespace Trellis.Proxy.IntegrationTests.Admin;

public class AdminTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Get_ReadyLiveMetrics_Answer200WithPrometheusText()
    {
        await using var proxy = await ProxyProcess.StartAsync([]);

        Assert.Equal("ready\n", await Http.GetStringAsync(new Uri(proxy.AdminUri, "ready")));
        Assert.Equal("live\n", await Http.GetStringAsync(new Uri(proxy.AdminUri, "live")));
        using var metrics = await Http.GetAsync(new Uri(proxy.AdminUri, "metrics"));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", metrics.Content.Headers.ContentType!.ToString());
        var text = await metrics.Content.ReadAsStringAsync();
        foreach (var family in new[] { "request_total", "response_total", "response_latency_ms", "tcp_open_total", "tcp_close_total", "tcp_open_connections", "tcp_read_bytes_total", "tcp_write_bytes_total" })
        {
            Assert.Contains($"# TYPE {family} ", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Shutdown_ByGet_IsRefusedAndProxyKeepsRunning()
    {
        await using var proxy = await ProxyProcess.StartAsync([]);

        using var response = await Http.GetAsync(new Uri(proxy.AdminUri, "shutdown"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Get_UnknownPath_Is404()
    {
        await using var proxy = await ProxyProcess.StartAsync([]);

        using var response = await Http.GetAsync(new Uri(proxy.AdminUri, "nope"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Shutdown_ByPost_ExitsZero()
    {
        await using var proxy = await ProxyProcess.StartAsync([]);

        using var response = await Http.PostAsync(new Uri(proxy.AdminUri, "shutdown"), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Sigterm_WithIdleConnection_DrainsUntilDeadlineClosesItAndExitsZero()
    {
        await using var echo = LoopbackTcpServer.Echo();
        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", echo.EndPoint.ToString(), "--drain-timeout", "300ms"]);
        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        await client.SendAsync(new byte[] { 0x00 }, SocketFlags.None);
        Assert.Single(await client.ReceiveExactlyAsync(1, TimeSpan.FromSeconds(10)));

        var exitCode = await proxy.TerminateAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, exitCode);
        await client.WaitForCloseAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("draining 1 connections", proxy.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_StopsAcceptingNewConnections()
    {
        await using var echo = LoopbackTcpServer.Echo();
        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", echo.EndPoint.ToString(), "--drain-timeout", "5s"]);
        using var held = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        await held.SendAsync(new byte[] { 0x00 }, SocketFlags.None);
        Assert.Single(await held.ReceiveExactlyAsync(1, TimeSpan.FromSeconds(10)));
        var outbound = proxy.Outbound;

        var exiting = proxy.TerminateAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(async () => !(await ReadyAsync(proxy)));

        await Assert.ThrowsAnyAsync<SocketException>(() => SocketTestExtensions.ConnectAsync(outbound));
        held.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await exiting);
    }

    private static async Task<bool> ReadyAsync(ProxyProcess proxy)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(proxy.AdminUri, "ready"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 200 && !await condition(); i++)
        {
            await Task.Delay(50);
        }
    }
}
