using Trellis.Cli.Hosts;

namespace Trellis.Cli.Tests.Hosts;

/// <summary>
/// Real pods (needs root): `trellis up`, a python http.server pod and a client pod, curl by pod
/// address through both proxies via `trellis exec`, then SIGTERM to `trellis run` tears its pod
/// down. <see cref="HostsCluster"/> removes everything in Dispose, pass or fail.
/// </summary>
[Collection(HostsModeCollection.Name)]
public sealed class PodsIntegrationTests
{
    [SkippableFact]
    public async Task Run_ServerAndClientPods_ExecCurlReachesServerAndTeardownRemovesPod()
    {
        Skip.If(HostsCluster.WhyNot() is not null, HostsCluster.WhyNot());
        using var cluster = new HostsCluster();
        var ns = cluster.Namespace;
        Assert.Equal(0, (await cluster.CliAsync("up")).ExitCode);

        var server = cluster.Run("run", "web", "-n", ns, "--service", "web:8000", "--", "python3", "-m", "http.server", "8000");
        cluster.Run("run", "client", "-n", ns, "--", "sleep", "120");
        var pods = await cluster.WaitForPodsAsync(p => p.Count(x => x.GetProperty("ready").GetBoolean()) == 2, "server and client ready");
        var serverIp = pods.Single(p => p.GetProperty("workload").GetString() == "web").GetProperty("address").GetString();

        var curl = await cluster.CliAsync("exec", "client", "-n", ns, "--", "curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", $"http://{serverIp}:8000/");
        Assert.Equal("200", curl.Stdout.Trim());

        Assert.Contains(await NetnsAsync(), n => n.StartsWith(PodNames.Netns(ns, "web-"), StringComparison.Ordinal));
        await HostsCluster.StopAsync(server);
        Assert.DoesNotContain(await NetnsAsync(), n => n.StartsWith(PodNames.Netns(ns, "web-"), StringComparison.Ordinal));
    }

    private static async Task<List<string>> NetnsAsync() =>
        (await Shell.RunAsync("ip", "netns", "list")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();
}
