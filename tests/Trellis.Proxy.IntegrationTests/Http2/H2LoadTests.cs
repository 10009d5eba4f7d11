using System.Text.RegularExpressions;

namespace Trellis.Proxy.IntegrationTests.Http2;

/// <summary>
/// nghttp2's h2load through the proxy: many concurrent streams on a few h2c connections, all
/// of which must succeed.
/// </summary>
public partial class H2LoadTests
{
    [Fact]
    public async Task H2Load_2000RequestsOn4ConnectionsWith10Streams_AllSucceed()
    {
        await using var origin = await Http2Origin.StartAsync();
        await using var proxy = await GrpcTests.StartProxyAsync(origin);

        var h2load = await ExternalCommand.RunAsync("h2load", ["-n", "2000", "-c", "4", "-m", "10", $"http://{proxy.Outbound}/"], TimeSpan.FromMinutes(2));

        Assert.True(h2load.ExitCode == 0, h2load.ToString());
        var requests = RequestsLine().Match(h2load.Stdout);
        Assert.True(requests.Success, h2load.ToString());
        Assert.Equal("2000", requests.Groups["done"].Value);
        Assert.Equal("2000", requests.Groups["succeeded"].Value);
        Assert.Equal("0", requests.Groups["failed"].Value);
        Assert.Equal("0", requests.Groups["errored"].Value);
        Assert.Contains("status codes: 2000 2xx", h2load.Stdout, StringComparison.Ordinal);
        var metrics = await proxy.MetricsAsync();
        Assert.Equal(2000, MetricsText.Sum(metrics, "response_total", "direction=\"outbound\"", "status_code=\"200\"", "classification=\"success\""));
    }

    [GeneratedRegex(@"requests: \d+ total, \d+ started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored")]
    private static partial Regex RequestsLine();
}
