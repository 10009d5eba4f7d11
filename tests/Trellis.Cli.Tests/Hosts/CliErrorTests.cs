using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Tests.Hosts;

/// <summary>Bad situations the CLI must explain with a clear message and a non-zero exit code (the real binary, as a user runs it).</summary>
public sealed class CliErrorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "trellis-err-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Run_WithoutRoot_Exits2AndSaysWhy()
    {
        // As root, drop to nobody: a non-root uid starts with no effective capabilities.
        var asRoot = Privileges.HasNetAdmin(await File.ReadAllTextAsync("/proc/self/status"));
        string[] prefix = asRoot ? ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"] : [];

        var result = await RunAsync([.. prefix, Trellis, "--dir", _dir, "run", "web", "-n", "demo", "--", "sleep", "1"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("`trellis run` needs root or CAP_NET_ADMIN", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetPods_ControllerDown_ExitsNonZeroAndPointsAtTrellisUp()
    {
        Assert.Equal(0, (await RunAsync([Trellis, "--dir", _dir, "install", "--hosts"])).ExitCode);

        var result = await RunAsync([Trellis, "--dir", _dir, "--controller", $"127.0.0.1:{UnusedPort()}", "get", "pods"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is not reachable", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("start it with `trellis up`", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    private static string Trellis => Path.Combine(AppContext.BaseDirectory, "trellis");

    /// <summary>A loopback port nobody listens on: bound and released by us.</summary>
    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<CliResult> RunAsync(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
