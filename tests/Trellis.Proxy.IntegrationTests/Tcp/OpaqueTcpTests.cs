using System.Net.Sockets;
using System.Text;

namespace Trellis.Proxy.IntegrationTests.Tcp;

public class OpaqueTcpTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Forward_BinaryBytes_ComeBackUnchangedAndAreCounted()
    {
        await using var echo = LoopbackTcpServer.Echo();
        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", echo.EndPoint.ToString()]);
        var payload = new byte[256 * 1024];
        new Random(7).NextBytes(payload);
        payload[0] = 0x00; // not a request line, preface or TLS record: opaque

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        var sending = client.SendAsync(payload, SocketFlags.None);
        var received = await client.ReceiveExactlyAsync(payload.Length, Patience);
        await sending;

        Assert.Equal(payload, received);
        client.Shutdown(SocketShutdown.Send);
        Assert.Empty(await client.ReceiveToEndAsync(Patience));
        var metrics = await proxy.MetricsAsync();
        Assert.Equal(payload.Length, MetricsText.Series(metrics, "tcp_read_bytes_total{direction=\"outbound\",peer=\"src\",tls=\"false\"}"));
        Assert.Equal(payload.Length, MetricsText.Series(metrics, "tcp_write_bytes_total{direction=\"outbound\",peer=\"dst\",tls=\"false\"}"));
        Assert.Equal(1, MetricsText.Series(metrics, "tcp_open_total{direction=\"outbound\",peer=\"dst\",tls=\"false\"}"));
    }

    [Fact]
    public async Task Forward_ServerSpeaksFirstOnOpaquePort_BannerArrivesWithoutClientBytes()
    {
        var banner = "220 mail.example ESMTP\r\n"u8.ToArray();
        await using var server = LoopbackTcpServer.Banner(banner);
        // Detection would wait an hour here, so the banner can only arrive via the opaque-port path.
        await using var proxy = await ProxyProcess.StartAsync(
            ["--outbound-destination", server.EndPoint.ToString(), "--opaque-ports", server.Port.ToString(), "--detect-timeout", "1h"]);

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);

        Assert.Equal(banner, await client.ReceiveExactlyAsync(banner.Length, Patience));
    }

    [Fact]
    public async Task Forward_SilentClientOnOrdinaryPort_GoesOpaqueAfterDetectTimeout()
    {
        var banner = "* OK IMAP4rev1 ready\r\n"u8.ToArray();
        await using var server = LoopbackTcpServer.Banner(banner);
        await using var proxy = await ProxyProcess.StartAsync(
            ["--outbound-destination", server.EndPoint.ToString(), "--opaque-ports", "1", "--detect-timeout", "200ms"]);

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        Assert.Equal(banner, await client.ReceiveExactlyAsync(banner.Length, Patience));
        await client.SendAsync("a1 NOOP\r\n"u8.ToArray(), SocketFlags.None);

        Assert.Equal("a1 NOOP\r\n", Encoding.ASCII.GetString(await client.ReceiveExactlyAsync(9, Patience)));
    }

    [Fact]
    public async Task Forward_PartialLineThenSilence_BytesStillReachUpstreamAfterTimeout()
    {
        await using var echo = LoopbackTcpServer.Echo();
        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", echo.EndPoint.ToString(), "--detect-timeout", "200ms"]);

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        await client.SendAsync("GET /never-finished"u8.ToArray(), SocketFlags.None);

        Assert.Equal("GET /never-finished", Encoding.ASCII.GetString(await client.ReceiveExactlyAsync(19, Patience)));
    }

    [Fact]
    public async Task Forward_TlsClientHello_PassesThroughAsBytes()
    {
        await using var echo = LoopbackTcpServer.Echo();
        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", echo.EndPoint.ToString()]);
        byte[] record = [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00];

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        await client.SendAsync(record, SocketFlags.None);

        Assert.Equal(record, await client.ReceiveExactlyAsync(record.Length, Patience));
    }

    [Fact]
    public async Task Forward_UpstreamRefuses_ClientIsClosedAndProxyKeepsServing()
    {
        int closedPort;
        using (var probe = new TcpListenerProbe())
        {
            closedPort = probe.Port;
        }

        await using var proxy = await ProxyProcess.StartAsync(["--outbound-destination", $"127.0.0.1:{closedPort}"]);

        using var client = await SocketTestExtensions.ConnectAsync(proxy.Outbound);
        await client.SendAsync(new byte[] { 0x00, 0x01 }, SocketFlags.None);

        Assert.Empty(await client.ReceiveToEndAsync(Patience));
        Assert.False(proxy.HasExited);
        Assert.True(await proxy.WaitForLogAsync("connection refused", Patience), proxy.Log);
        Assert.Equal("ready\n", await new HttpClient().GetStringAsync(new Uri(proxy.AdminUri, "ready")));
    }

    /// <summary>Finds a port nothing listens on (bound, then released).</summary>
    private sealed class TcpListenerProbe : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);

        public TcpListenerProbe() => _listener.Start();

        public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose() => _listener.Stop();
    }
}
