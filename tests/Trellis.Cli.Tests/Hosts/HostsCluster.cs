using System.Diagnostics;
using System.Text.Json;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Tests.Hosts;

/// <summary>
/// One test's hosts-mode cluster: its own state directory and namespace (unique names), the
/// `trellis run` processes it started, and a teardown that always runs: SIGTERM to every run
/// (which removes its pod), then `trellis down` (which removes whatever is left), pass or fail.
/// </summary>
public sealed class HostsCluster : IDisposable
{
    private readonly List<Process> _runs = [];

    public HostsCluster()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        Dir = Path.Combine(Path.GetTempPath(), "trellis-it-" + id);
        Namespace = "it-" + id;
    }

    public string Dir { get; }

    public string Namespace { get; }

    /// <summary>Why hosts-mode tests cannot run here, or null when they can.</summary>
    public static string? WhyNot() =>
        Privileges.HasNetAdmin(File.ReadAllText("/proc/self/status")) ? null : "hosts mode needs root (CAP_NET_ADMIN) to create namespaces, a bridge and iptables rules";

    /// <summary>Starts `trellis run` in the background; its output goes to a file in the state directory.</summary>
    public Process Run(params string[] args)
    {
        var process = Start(args, redirect: false);
        _runs.Add(process);
        return process;
    }

    /// <summary>Runs a `trellis` command to completion (bounded by <paramref name="timeout"/>).</summary>
    public async Task<CliResult> CliAsync(TimeSpan timeout, params string[] args)
    {
        using var process = Start(args, redirect: true);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`trellis {string.Join(' ', args)}` did not finish within {timeout}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    public Task<CliResult> CliAsync(params string[] args) => CliAsync(TimeSpan.FromSeconds(60), args);

    /// <summary>Starts a `trellis` command with its output redirected, for tests that read it as it comes.</summary>
    public Process StartCli(params string[] args) => Start(args, redirect: true);

    /// <summary>Pods of this namespace as `trellis get pods -o json` reports them; empty while the controller does not answer.</summary>
    public async Task<List<JsonElement>> PodsAsync()
    {
        var get = await CliAsync(TimeSpan.FromSeconds(20), "get", "pods", "-n", Namespace, "-o", "json");
        return get.ExitCode == 0 ? [.. JsonDocument.Parse(get.Stdout).RootElement.Clone().EnumerateArray()] : [];
    }

    /// <summary>Polls (bounded: 150 × 200 ms) until <paramref name="done"/> holds for the pod list.</summary>
    public async Task<List<JsonElement>> WaitForPodsAsync(Func<List<JsonElement>, bool> done, string what)
    {
        for (var attempt = 0; attempt < 150; attempt++)
        {
            var pods = await PodsAsync();
            if (done(pods))
            {
                return pods;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"pods never reached: {what}");
    }

    /// <summary>Sends SIGTERM to a `trellis run` and waits (bounded) for it to remove its pod and exit.</summary>
    public static async Task StopAsync(Process run)
    {
        Signals.Send(run.Id, Signals.SigTerm);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await run.WaitForExitAsync(deadline.Token);
    }

    public void Dispose()
    {
        foreach (var run in _runs)
        {
            if (!run.HasExited)
            {
                Signals.Send(run.Id, Signals.SigTerm);
                if (!run.WaitForExit(15_000))
                {
                    run.Kill(entireProcessTree: true);
                }
            }

            run.Dispose();
        }

        using (var down = Start(["down"], redirect: false))
        {
            down.WaitForExit(60_000);
        }

        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    private Process Start(IEnumerable<string> args, bool redirect)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "trellis"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
        };
        start.ArgumentList.Add("--dir");
        start.ArgumentList.Add(Dir);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["TRELLIS_PROXY"] = Environment.GetEnvironmentVariable("TRELLIS_PROXY") ?? FindProxy();
        return Process.Start(start)!;
    }

    /// <summary>
    /// The proxy the pods run: the published NativeAOT binary (what test.sh builds and ships)
    /// when present, else the proxy built in this test assembly's configuration.
    /// </summary>
    private static string FindProxy()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Trellis.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string[] candidates =
        [
            Path.Combine(dir ?? "/", "artifacts/bin/trellis-proxy"),
            Path.Combine(dir ?? "/", $"src/Trellis.Proxy/bin/{configuration}/net10.0/trellis-proxy"),
        ];
        var proxy = candidates.FirstOrDefault(File.Exists);
        Assert.True(proxy is not null, $"build the proxy first (./test.sh publishes it; or dotnet build src/Trellis.Proxy) or set TRELLIS_PROXY; none of {string.Join(", ", candidates)} exists");
        return proxy;
    }
}
