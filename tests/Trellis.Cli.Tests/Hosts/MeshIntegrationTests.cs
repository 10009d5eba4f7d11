using System.Diagnostics;
using System.Text.Json;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Tests.Hosts;

/// <summary>
/// The control-plane flow in hosts mode, end to end with real pods (needs root): three replicas
/// behind a service and a client pod; requests by service name spread over every replica; the
/// bytes between pods are TLS; a stopped replica leaves no client-visible errors; a controller
/// outage does not stop traffic and pods re-register after its restart; `trellis check`, `get`
/// and `diagnostics` agree; and `trellis down` leaves nothing behind. One test on purpose: the
/// steps share one cluster, and bringing one up is most of the cost.
/// </summary>
[Collection(HostsModeCollection.Name)]
public sealed class MeshIntegrationTests
{
    // Answers every GET with the name of the pod it runs in, so the spread can be counted. On
    // SIGTERM it stops listening at once but lingers 2 s, as servers finishing their work do:
    // a pod still in the endpoint set then would refuse requests.
    private const string Server =
        "import http.server, os, signal, time\n" +
        "class H(http.server.BaseHTTPRequestHandler):\n" +
        "    def do_GET(self):\n" +
        "        body = os.environ['TRELLIS_POD_NAME'].encode()\n" +
        "        self.send_response(200)\n" +
        "        self.send_header('Content-Length', str(len(body)))\n" +
        "        self.send_header('X-Pod-Name', os.environ['TRELLIS_POD_NAME'])\n" +
        "        self.end_headers()\n" +
        "        self.wfile.write(body)\n" +
        "    def log_message(self, *args):\n" +
        "        pass\n" +
        "server = http.server.ThreadingHTTPServer(('0.0.0.0', 8000), H)\n" +
        "def stop(*args):\n" +
        "    server.socket.close()\n" +
        "    time.sleep(2)\n" +
        "    os._exit(0)\n" +
        "signal.signal(signal.SIGTERM, stop)\n" +
        "server.serve_forever()\n";

    [SkippableFact]
    public async Task Mesh_ThreeReplicas_SpreadsOverTls_SurvivesReplicaAndControllerLoss_AndDownLeavesNothing()
    {
        Skip.If(HostsCluster.WhyNot() is not null, HostsCluster.WhyNot());
        using (var cluster = new HostsCluster())
        {
            var ns = cluster.Namespace;
            var fqdn = $"http://web.{ns}.svc.cluster.local:8000/";
            Assert.Equal(0, (await cluster.CliAsync("up")).ExitCode);
            var webs = Enumerable.Range(0, 3).Select(_ => cluster.Run("run", "web", "-n", ns, "--service", "web:8000", "--", "python3", "-c", Server)).ToList();
            cluster.Run("run", "client", "-n", ns, "--", "sleep", "600");
            var pods = await cluster.WaitForPodsAsync(p => ReadyCount(p, "web") == 3 && ReadyCount(p, "client") == 1, "3 ready web pods and a ready client");
            var webNames = pods.Where(p => p.GetProperty("workload").GetString() == "web").Select(p => p.GetProperty("name").GetString()!).ToList();

            // 1 + 2: by both names, spread over all three replicas, and only TLS on the wire between pods.
            string dump;
            List<(string Pod, string Code)> answers;
            using (var tcpdump = await TcpdumpAsync())
            {
                answers = await CurlAsync(cluster, 30, fqdn);
                answers.AddRange(await CurlAsync(cluster, 3, $"http://web.{ns}:8000/"));
                dump = await StopAsync(tcpdump);
            }

            Assert.All(answers, a => Assert.Equal("200", a.Code));
            var perReplica = answers.GroupBy(a => a.Pod).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(webNames.Order(), perReplica.Keys.Order());
            Assert.All(perReplica.Values, count => Assert.True(count > 0));
            Assert.Matches(@"length [1-9]", dump);
            Assert.Contains("trellis.mesh/1", dump, StringComparison.Ordinal);
            Assert.DoesNotContain("GET /", dump, StringComparison.Ordinal);

            // 5: check, get and diagnostics see the same three meshed endpoints.
            var check = await cluster.CliAsync("check");
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
            Assert.Contains("[ok]   every proxy is ready: listening and certified by the identity service: 4 proxies", check.Stdout, StringComparison.Ordinal);
            var table = await cluster.CliAsync("get", "pods", "-n", ns);
            Assert.Equal(0, table.ExitCode);
            Assert.All(webNames, name => Assert.Contains(name, table.Stdout, StringComparison.Ordinal));
            Assert.Contains("client-", table.Stdout, StringComparison.Ordinal);
            var endpoints = await cluster.CliAsync("diagnostics", "endpoints", $"web.{ns}.svc.cluster.local:8000");
            Assert.Equal(0, endpoints.ExitCode);
            var identity = $"spiffe://cluster.local/ns/{ns}/sa/default";
            Assert.Equal(3, endpoints.Stdout.Split('\n').Count(l => l.Contains(":8000", StringComparison.Ordinal) && l.Contains(identity, StringComparison.Ordinal)));

            // 3: a replica stopped under traffic costs no request (it leaves the endpoint set before
            // its app stops); once it is gone, no request fails and none reaches it.
            // The stop comes once every replica has answered some of the paced requests, so the
            // stopped one was taking traffic when it went.
            var during = new List<(string Pod, string Code)>();
            using (var paced = cluster.StartCli(CurlArgs(cluster, 150, fqdn, "50/s")))
            {
                var errors = paced.StandardError.ReadToEndAsync();
                while (during.Select(a => a.Pod).Distinct().Count() < 3 && await paced.StandardOutput.ReadLineAsync() is { } line)
                {
                    during.Add(ParseAnswer(line));
                }

                await HostsCluster.StopAsync(webs[0]);
                while (await paced.StandardOutput.ReadLineAsync() is { } line)
                {
                    during.Add(ParseAnswer(line));
                }

                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await paced.WaitForExitAsync(deadline.Token);
                Assert.True(during.Count == 150, $"expected 150 answers from curl, got {during.Count}: {await errors}");
            }

            Assert.All(during, a => Assert.Equal("200", a.Code));
            var gone = webNames.Except((await cluster.WaitForPodsAsync(p => ReadyCount(p, "web") == 2, "the stopped replica deregistered"))
                .Select(p => p.GetProperty("name").GetString()!)).Single();
            answers = await CurlAsync(cluster, 20, fqdn);
            Assert.All(answers, a => Assert.Equal("200", a.Code));
            Assert.DoesNotContain(answers, a => a.Pod == gone);

            // 4: the controller dies: the CLI says so, traffic goes on with last-known endpoints;
            // after `trellis up` every pod registers again.
            var controllerPid = int.Parse(await File.ReadAllTextAsync(Path.Combine(cluster.Dir, "controller.pid")), System.Globalization.CultureInfo.InvariantCulture);
            Signals.Send(controllerPid, Signals.SigTerm);
            await WaitGoneAsync(controllerPid);
            var refused = await cluster.CliAsync("get", "pods", "-n", ns);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("is not reachable", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("trellis up", refused.Stderr, StringComparison.Ordinal);
            answers = await CurlAsync(cluster, 10, fqdn);
            Assert.All(answers, a => Assert.Equal("200", a.Code));

            // Right after the restart the controller knows no pods until they renew; it must not
            // tell proxies "no endpoints" meanwhile.
            Assert.Equal(0, (await cluster.CliAsync("up")).ExitCode);
            answers = await CurlAsync(cluster, 10, fqdn);
            Assert.All(answers, a => Assert.Equal("200", a.Code));
            var before = (await cluster.WaitForPodsAsync(p => ReadyCount(p, "web") == 2 && ReadyCount(p, "client") == 1, "pods re-registered after the restart"))
                .Select(p => p.GetProperty("name").GetString()!).ToList();

            // The client's proxy watches the restarted controller: with a replica started after the
            // restart and the older ones stopped, every request reaches the new one. (While the
            // old ones run, peak EWMA rightly prefers their warm connections over the new one.)
            webs.Add(cluster.Run("run", "web", "-n", ns, "--service", "web:8000", "--", "python3", "-c", Server));
            var added = (await cluster.WaitForPodsAsync(p => ReadyCount(p, "web") == 3, "a third replica after the restart"))
                .Select(p => p.GetProperty("name").GetString()!).Except(before).Single();
            await Task.WhenAll(webs[1..3].Select(HostsCluster.StopAsync));
            await cluster.WaitForPodsAsync(p => ReadyCount(p, "web") == 1, "only the new replica left");
            answers = await CurlAsync(cluster, 10, fqdn);
            Assert.All(answers, a => Assert.Equal((added, "200"), a));
            check = await cluster.CliAsync("check");
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
            Assert.Contains("certified by the identity service: 2 proxies", check.Stdout, StringComparison.Ordinal);

            // 6: every run removes its pod; down removes the rest.
            foreach (var run in webs.Where(r => !r.HasExited))
            {
                await HostsCluster.StopAsync(run);
            }

            // The client pod is still running: down removes it while its own `trellis run` cleans up too.
            var down = await cluster.CliAsync("down");
            Assert.True(down.ExitCode == 0, down.Stdout + down.Stderr);
        }

        await AssertNothingLeftAsync();
    }

    /// <summary>Nothing hosts mode creates survives `trellis down`: namespaces, veths, the bridge, rules, netns files, runtime dirs.</summary>
    internal static async Task AssertNothingLeftAsync()
    {
        Assert.DoesNotContain(PodNames.NetnsPrefix, await Shell.RunAsync("ip", "netns", "list"), StringComparison.Ordinal);
        var links = await Shell.RunAsync("ip", "-o", "link", "show");
        Assert.DoesNotContain(HostNetwork.Bridge, links, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\d+: t[vp][0-9a-f]{10}[@:]", links);
        Assert.DoesNotContain("PROXY_INIT", await Shell.RunAsync("iptables-save"), StringComparison.Ordinal);
        Assert.Empty(Directory.Exists("/etc/netns") ? Directory.GetDirectories("/etc/netns", PodNames.NetnsPrefix + "*") : []);
        Assert.Empty(Directory.Exists(PodNames.RuntimeRoot) ? Directory.GetDirectories(PodNames.RuntimeRoot) : []);
    }

    private static int ReadyCount(List<JsonElement> pods, string workload) =>
        pods.Count(p => p.GetProperty("workload").GetString() == workload && p.GetProperty("ready").GetBoolean());

    /// <summary>`count` GETs from the client pod in one curl: each line is "POD CODE" (no POD and CODE 000 when the request failed).</summary>
    private static async Task<List<(string Pod, string Code)>> CurlAsync(HostsCluster cluster, int count, string url)
    {
        var curl = await cluster.CliAsync(CurlArgs(cluster, count, url, rate: null));
        var lines = curl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == count, $"expected {count} answers from curl, got: {curl.Stdout} {curl.Stderr}");
        return [.. lines.Select(ParseAnswer)];
    }

    /// <summary>`trellis exec` arguments for one curl of <paramref name="count"/> GETs, optionally paced (e.g. "20/s").</summary>
    private static string[] CurlArgs(HostsCluster cluster, int count, string url, string? rate)
    {
        string[] pace = rate is null ? [] : ["--rate", rate];
        // -o binds to one URL, hence one per URL. stdbuf: curl's stdout is a pipe, so without line buffering the answers would come all at the end.
        return ["exec", "client", "-n", cluster.Namespace, "--", "stdbuf", "-oL", "curl", "-sS", "-m", "5", .. pace, "-w", "%header{x-pod-name} %{http_code}\\n",
            .. Enumerable.Repeat(url, count).SelectMany(u => new[] { "-o", "/dev/null", u })];
    }

    private static (string Pod, string Code) ParseAnswer(string line) => line.Trim().Split(' ') switch
    {
        [var pod, var code] => (pod, code),
        [var code] => (string.Empty, code),
        _ => (line, "?"),
    };

    /// <summary>
    /// Captures pod-to-pod bytes on the bridge: the service port and the proxies' inbound port,
    /// in ASCII. Bounded by packet count and `timeout`; returns once tcpdump is capturing.
    /// </summary>
    private static async Task<Process> TcpdumpAsync()
    {
        var start = new ProcessStartInfo("timeout") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "60", "tcpdump", "-i", HostNetwork.Bridge, "-nn", "-l", "-A", "-c", "5000", "tcp port 8000 or tcp port 4143" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        // tcpdump says "listening on" once the capture is open; nothing sent before that is seen.
        var line = await process.StandardError.ReadLineAsync();
        for (var i = 0; i < 5 && line is not null && !line.Contains("listening on", StringComparison.Ordinal); i++)
        {
            line = await process.StandardError.ReadLineAsync();
        }

        Assert.True(line?.Contains("listening on", StringComparison.Ordinal) == true, $"tcpdump did not start: {line}");
        return process;
    }

    private static async Task<string> StopAsync(Process tcpdump)
    {
        var output = tcpdump.StandardOutput.ReadToEndAsync();
        // `timeout` passes SIGINT on to tcpdump, which flushes and exits.
        Signals.Send(tcpdump.Id, Signals.SigInt);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await tcpdump.WaitForExitAsync(deadline.Token);
        return await output;
    }

    private static async Task WaitGoneAsync(int pid)
    {
        for (var i = 0; i < 150 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(Directory.Exists($"/proc/{pid}"), $"the controller (pid {pid}) did not exit on SIGTERM");
    }
}
