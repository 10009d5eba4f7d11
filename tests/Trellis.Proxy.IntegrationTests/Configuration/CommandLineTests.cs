using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Trellis.Proxy.IntegrationTests.Configuration;

public class CommandLineTests
{
    [Fact]
    public async Task Help_ListsEveryFlagWithItsEnvironmentVariable()
    {
        var (exitCode, output) = await RunAsync(["--help"]);

        Assert.Equal(0, exitCode);
        foreach (var flag in new[] { "--outbound-listen", "--inbound-listen", "--admin-listen", "--outbound-destination", "--inbound-destination", "--opaque-ports", "--detect-timeout", "--connect-timeout", "--response-timeout", "--drain-timeout" })
        {
            Assert.Contains(flag, output, StringComparison.Ordinal);
            Assert.Contains("TRELLIS_PROXY_" + flag[2..].Replace('-', '_').ToUpperInvariant(), output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--admin-listen", "localhost:4191", "is not an IP address and port")]
    [InlineData("--outbound-listen", "127.0.0.1", "is not an IP address and port")]
    [InlineData("--detect-timeout", "soon", "is not a duration")]
    [InlineData("--opaque-ports", "25,99999", "is not a port number")]
    public async Task BadFlag_ExitsNonZeroNamingTheFlag(string flag, string value, string message)
    {
        var (exitCode, output) = await RunAsync([flag, value]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(flag, output, StringComparison.Ordinal);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadEnvironmentVariable_ExitsNonZeroNamingTheVariable()
    {
        var (exitCode, output) = await RunAsync([], new() { ["TRELLIS_PROXY_CONNECT_TIMEOUT"] = "-3s" });

        Assert.NotEqual(0, exitCode);
        Assert.Contains("TRELLIS_PROXY_CONNECT_TIMEOUT", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownLogLevel_ExitsTwo()
    {
        var (exitCode, output) = await RunAsync([], new() { ["TRELLIS_LOG"] = "chatty" });

        Assert.Equal(2, exitCode);
        Assert.Contains("TRELLIS_LOG must be one of", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenPortInUse_ExitsOneSayingWhy()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, output) = await RunAsync(["--outbound-listen", $"127.0.0.1:{port}", "--inbound-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("cannot listen", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(RepositoryPaths.ProxyBinary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException("trellis-proxy did not exit; it was expected to refuse to start.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
