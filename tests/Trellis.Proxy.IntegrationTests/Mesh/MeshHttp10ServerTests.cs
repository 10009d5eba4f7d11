using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Trellis.Proxy.IntegrationTests.Mesh;

/// <summary>
/// An HTTP/1.0 server that closes its connection after every response (Python's http.server,
/// a common first app to mesh) behind two proxies: the closes stay on the last hop. curl keeps
/// its one connection to the client proxy and the proxies keep their one mTLS connection.
/// </summary>
public class MeshHttp10ServerTests
{
    [Fact]
    public async Task Http10ServerClosingAfterEachResponse_ClientAndMeshConnectionsAreReused()
    {
        using var mesh = new MeshFixture();
        using var files = new TemporaryDirectory();
        await File.WriteAllTextAsync(files.Combine("page.txt"), "from python\n");
        var port = UnusedPort.Loopback().Port;
        using var server = StartPythonServer(files.Combine(""), port);
        try
        {
            await WaitListeningAsync(port, server);
            await using var serverProxy = await mesh.StartServerProxyAsync(new IPEndPoint(IPAddress.Loopback, port));
            await using var clientProxy = await mesh.StartClientProxyAsync(serverProxy.Inbound, MeshPki.Id("server"));

            var url = $"http://{clientProxy.Outbound}/page.txt";
            var curl = await ExternalCommand.CurlAsync("-v", url, url, url);

            Assert.True(curl.ExitCode == 0 && curl.Stdout == "from python\nfrom python\nfrom python\n", curl + clientProxy.Log + serverProxy.Log);
            Assert.Contains("< HTTP/1.1 200 OK", curl.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("< HTTP/1.0", curl.Stderr, StringComparison.Ordinal);
            var clientMetrics = await clientProxy.MetricsAsync();
            Assert.Equal(1, MetricsText.Sum(clientMetrics, "tcp_open_total", "direction=\"outbound\"", "peer=\"src\""));
            Assert.Equal(1, MetricsText.Sum(clientMetrics, "tcp_open_total", "direction=\"outbound\"", "peer=\"dst\"", "tls=\"true\""));
            var serverMetrics = await serverProxy.MetricsAsync();
            Assert.Equal(1, MetricsText.Sum(serverMetrics, "tcp_open_total", "direction=\"inbound\"", "peer=\"src\"", "tls=\"true\""));
            // The server's own closes are honoured: one connection to it per request.
            Assert.Equal(3, MetricsText.Sum(serverMetrics, "tcp_open_total", "direction=\"inbound\"", "peer=\"dst\""));
            Assert.Equal(3, MetricsText.Sum(serverMetrics, "response_total", "direction=\"inbound\"", "status_code=\"200\""));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static Process StartPythonServer(string directory, int port)
    {
        var info = new ProcessStartInfo("python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start python3");
        // Its request log goes to stderr; drained so a full pipe never blocks it.
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitListeningAsync(int port, Process server)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !server.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }
}
