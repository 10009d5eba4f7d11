using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// h2load (nghttp2-client) as a real, independent HTTP/2 client: a bounded run of multiplexed
/// requests through the forwarder to a plain HTTP/2 endpoint must all succeed.
/// </summary>
public sealed partial class Http2ForwarderH2LoadTests
{
    private const int Requests = 2000;

    [Fact]
    public async Task ServeAsync_H2LoadBoundedRun_AllRequestsSucceed()
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = new Http2ProxyHarness(server.Endpoint);

        var output = await RunH2LoadAsync($"-n {Requests} -c 4 -m 10 http://{proxy.Endpoint}/");

        var match = RequestsLine().Match(output);
        Assert.True(match.Success, $"no 'requests:' line in h2load output:\n{output}");
        Assert.Equal(Requests, int.Parse(match.Groups["done"].Value));
        Assert.Equal(Requests, int.Parse(match.Groups["succeeded"].Value));
        Assert.Equal(0, int.Parse(match.Groups["failed"].Value));
        Assert.Equal(0, int.Parse(match.Groups["errored"].Value));
        Assert.Contains($"status codes: {Requests} 2xx", output);

        var authority = $"127.0.0.1:{proxy.Endpoint.Port}";
        await proxy.WaitForMetricAsync(
            $"response_total{{direction=\"outbound\",authority=\"{authority}\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"success\",grpc_status=\"\"}} {Requests}\n");
        Assert.Contains($"request_total{{direction=\"outbound\",authority=\"{authority}\",tls=\"false\",client_id=\"\"}} {Requests}\n", proxy.MetricsText);
    }

    private static async Task<string> RunH2LoadAsync(string arguments)
    {
        var start = new ProcessStartInfo("h2load", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException("h2load did not start; install Debian's nghttp2-client");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"h2load ran past 60 s:\n{await stdout}");
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"h2load exited {process.ExitCode}:\n{output}");
        return output;
    }

    [GeneratedRegex(@"requests: (?<total>\d+) total, (?<started>\d+) started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored")]
    private static partial Regex RequestsLine();
}
