namespace Trellis.Proxy.IntegrationTests.Transparent;

/// <summary>
/// The proxy as it runs in a pod: iptables in a network namespace redirects the app's TCP to
/// the outbound listener, the proxy reads the original destination with SO_ORIGINAL_DST and
/// dials it as uid 2102, whose own traffic the rules exempt.
/// </summary>
public class InterceptionTests
{
    private const string ProxyUid = "2102";

    [SkippableFact]
    public async Task Outbound_RedirectedConnection_ReachesItsOriginalDestinationThroughTheProxy()
    {
        Skip.IfNot(NetworkNamespace.IsRoot, "needs root to create network namespaces and iptables rules");
        await using var ns = await NetworkNamespace.CreateAsync();
        var proxyBinary = RepositoryPaths.ProxyBinary;
        await ns.ExecAsync("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", ProxyUid, "-j", "RETURN");
        await ns.ExecAsync("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "4191", "-j", "RETURN");
        await ns.ExecAsync("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", "4140");

        ns.Start("python3", "-m", "http.server", "9000", "--bind", "127.0.0.1", "--directory", RepositoryPaths.Root);
        ns.Start("setpriv", "--reuid", ProxyUid, "--regid", ProxyUid, "--clear-groups", "env", "TRELLIS_LOG=info", proxyBinary,
            "--outbound-listen", "127.0.0.1:4140", "--inbound-listen", "127.0.0.1:4143", "--admin-listen", "127.0.0.1:4191");
        await WaitForAsync(() => ns.ExecAsync("curl", "-sf", "http://127.0.0.1:4191/ready"));
        await WaitForAsync(() => ns.ExecAsync("setpriv", "--reuid", ProxyUid, "--regid", ProxyUid, "--clear-groups", "curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:9000/"));

        var body = await ns.ExecAsync("curl", "-sf", "http://127.0.0.1:9000/Trellis.slnx");

        Assert.Contains("Trellis.Proxy.csproj", body, StringComparison.Ordinal);
        var metrics = await ns.ExecAsync("curl", "-sf", "http://127.0.0.1:4191/metrics");
        Assert.True(MetricsText.Sum(metrics, "tcp_open_total", "direction=\"outbound\"", "peer=\"dst\"") >= 1, metrics);
    }

    [SkippableFact]
    public async Task Outbound_ConnectionStraightToTheListener_IsRefusedInsteadOfLooping()
    {
        Skip.IfNot(NetworkNamespace.IsRoot, "needs root to create network namespaces");
        await using var ns = await NetworkNamespace.CreateAsync();
        ns.Start("env", "TRELLIS_LOG=info", RepositoryPaths.ProxyBinary,
            "--outbound-listen", "127.0.0.1:4140", "--inbound-listen", "127.0.0.1:4143", "--admin-listen", "127.0.0.1:4191");
        await WaitForAsync(() => ns.ExecAsync("curl", "-sf", "http://127.0.0.1:4191/ready"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ns.ExecAsync("curl", "-sS", "--max-time", "10", "http://127.0.0.1:4140/"));

        // curl: 52 empty reply (closed) or 56 receive failure (reset); never an answer.
        Assert.Matches("exited (52|56)", error.Message);
    }

    private static async Task WaitForAsync(Func<Task> probe)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await probe();
                return;
            }
            catch (InvalidOperationException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }
}
