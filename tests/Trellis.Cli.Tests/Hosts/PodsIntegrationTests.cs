using System.Diagnostics;
using System.Text.Json;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Tests.Hosts;

/// <summary>
/// Real pods (needs root): `trellis up`, a python http.server pod and a client pod, curl through
/// both proxies via `trellis exec`, then SIGTERM to `trellis run` tears its pod down; `trellis down`
/// in Dispose removes everything, pass or fail. Uses its own state directory and namespace.
/// </summary>
[Collection(HostsModeCollection.Name)]
public sealed class PodsIntegrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "trellis-it-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _ns = "it-" + Guid.NewGuid().ToString("N")[..6];
    private readonly List<Process> _runs = [];

    public void Dispose()
    {
        foreach (var run in _runs)
        {
            if (!run.HasExited)
            {
                Signals.Send(run.Id, Signals.SigTerm);
                run.WaitForExit(15_000);
            }

            run.Dispose();
        }

        Cli("down").WaitForExit(60_000);
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Run_ServerAndClientPods_ExecCurlReachesServerAndTeardownRemovesPod()
    {
        Assert.True(Privileges.HasNetAdmin(await File.ReadAllTextAsync("/proc/self/status")), "this test needs root (CAP_NET_ADMIN)");
        Assert.Equal(0, await ExitCodeAsync(Cli("up")));

        var server = Cli("run", "web", "-n", _ns, "--service", "web:8000", "--", "python3", "-m", "http.server", "8000");
        _runs.Add(server);
        _runs.Add(Cli("run", "client", "-n", _ns, "--", "sleep", "120"));
        var serverIp = await WaitForReadyPodAsync("web");
        await WaitForReadyPodAsync("client");

        var curl = Cli("exec", "client", "-n", _ns, "--", "curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", $"http://{serverIp}:8000/");
        var output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.Equal("200", output.Trim());

        var serverPods = await NetnsAsync();
        Assert.Contains(serverPods, n => n.StartsWith($"trellis-{_ns}-web-", StringComparison.Ordinal));
        Signals.Send(server.Id, Signals.SigTerm);
        await server.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.DoesNotContain(await NetnsAsync(), n => n.StartsWith($"trellis-{_ns}-web-", StringComparison.Ordinal));
    }

    private async Task<string> WaitForReadyPodAsync(string workload)
    {
        for (var i = 0; i < 150; i++)
        {
            var get = Cli("get", "pods", "-n", _ns, "-o", "json");
            var json = await get.StandardOutput.ReadToEndAsync();
            await get.WaitForExitAsync();
            if (get.ExitCode == 0)
            {
                foreach (var pod in JsonDocument.Parse(json).RootElement.EnumerateArray())
                {
                    if (pod.GetProperty("workload").GetString() == workload && pod.GetProperty("ready").GetBoolean())
                    {
                        return pod.GetProperty("address").GetString()!;
                    }
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"pod of {workload} never became ready");
    }

    private static async Task<List<string>> NetnsAsync() =>
        (await Shell.RunAsync("ip", "netns", "list")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();

    private static async Task<int> ExitCodeAsync(Process process)
    {
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private Process Cli(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "trellis")) { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add("--dir");
        start.ArgumentList.Add(_dir);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["TRELLIS_PROXY"] = Environment.GetEnvironmentVariable("TRELLIS_PROXY") ?? FindProxy();
        return Process.Start(start)!;
    }

    private static string FindProxy()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Trellis.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        var proxy = Path.Combine(dir ?? "/", "src/Trellis.Proxy/bin/Debug/net10.0/trellis-proxy");
        Assert.True(File.Exists(proxy), $"build the proxy first (dotnet build src/Trellis.Proxy) or set TRELLIS_PROXY; {proxy} is missing");
        return proxy;
    }
}
