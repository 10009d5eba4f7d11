using System.Net;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Hosts;
using Trellis.Controller.Registry;

namespace Trellis.Cli.Tests.Hosts;

public sealed class HostsParsingTests
{
    [Theory]
    [InlineData("CapEff:\t000001ffffffffff\n", true)]
    [InlineData("CapEff:\t0000000000000000\n", false)]
    [InlineData("CapEff:\t0000000000001000\n", true)]
    [InlineData("Name: x\n", false)]
    public void HasNetAdmin_ProcStatus_ReadsCapability12(string status, bool expected) =>
        Assert.Equal(expected, Privileges.HasNetAdmin(status));

    [Fact]
    public void ListeningPorts_ProcNetTcp_OnlyListenState()
    {
        const string text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
            "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n" +
            "   1: 0100007F:1F41 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";

        Assert.Equal([8000], Readiness.ListeningPorts(text));
    }

    [Fact]
    public void Overlapping_HostRoutes_FindsOverlapAndIgnoresBridge()
    {
        const string json = """
            [{"dst":"default","gateway":"192.0.2.1","dev":"eth0"},
             {"dst":"192.0.2.0/24","dev":"eth0"},
             {"dst":"10.42.0.0/16","dev":"trellis0"},
             {"dst":"10.43.1.7","dev":"eth0","type":"local"}]
            """;

        Assert.Empty(HostNetwork.Overlapping(json, AddressRange.Parse("10.42.0.0/16", "pods")));
        Assert.Single(HostNetwork.Overlapping(json, AddressRange.Parse("10.43.0.0/16", "services")));
        Assert.Single(HostNetwork.Overlapping(json, AddressRange.Parse("192.0.0.0/8", "pods")));
    }

    [Fact]
    public void ProxyInitRules_SkipPorts_ExemptProxyUidAndRedirectRest()
    {
        var pod = new PodSpec("demo", "web-abcde", IPAddress.Parse("10.42.0.2"), 16, IPAddress.Parse("10.42.0.1"), "10.43.0.0/16", [22], [5432]);

        var rules = PodNetwork.ProxyInitRules(pod).Select(r => string.Join(' ', r)).ToList();

        Assert.Contains("-t nat -A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN", rules);
        Assert.Contains("-t nat -A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4191,22 -j RETURN", rules);
        Assert.Contains("-t nat -A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 5432 -j RETURN", rules);
        Assert.Contains("-t nat -A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-ports 4140", rules);
        Assert.Contains("-t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-ports 4143", rules);
        Assert.True(rules.IndexOf("-t nat -A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN")
            < rules.IndexOf("-t nat -A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-ports 4140"));
    }

    [Fact]
    public void HostsFile_Services_MapsEveryNameFormToVip()
    {
        var pod = new PodSpec("demo", "web-abcde", IPAddress.Parse("10.42.0.2"), 16, IPAddress.Parse("10.42.0.1"), "10.43.0.0/16", [], []);

        var text = PodNetwork.HostsFile(pod, [new Service { Namespace = "demo", Name = "web", VirtualIp = "10.43.0.2" }]);

        Assert.Contains("10.43.0.2\tweb.demo.svc.cluster.local web.demo.svc web.demo\n", text, StringComparison.Ordinal);
        Assert.Contains("10.42.0.2\tweb-abcde\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void HostVeth_LongNames_FitInterfaceNameLimit()
    {
        var netns = PodNames.Netns("a-very-long-namespace-name", "a-very-long-workload-name-x7k2p");

        Assert.True(PodNames.HostVeth(netns).Length <= 15);
        Assert.True(PodNames.PeerVeth(netns).Length <= 15);
        Assert.NotEqual(PodNames.HostVeth(netns), PodNames.HostVeth(netns + "x"));
    }

    [Fact]
    public void LocalPodsMatch_PodOrWorkload_FindsOnlyThatWorkloadsPods()
    {
        string[] names = ["trellis-pod-demo-web-api-bcdfg", "trellis-pod-demo-web-hjklm", "trellis-pod-other-web-npqrs", "unrelated", "trellis-it-web-bcdfg"];

        Assert.Equal("trellis-pod-demo-web-hjklm", LocalPods.Match(names, "demo", "web"));
        Assert.Equal("trellis-pod-demo-web-api-bcdfg", LocalPods.Match(names, "demo", "web-api"));
        Assert.Equal("trellis-pod-demo-web-api-bcdfg", LocalPods.Match(names, "demo", "web-api-bcdfg"));
        Assert.Null(LocalPods.Match(names, "demo", "db"));
        Assert.Null(LocalPods.Match(["trellis-pod-demo-web-api-bcdfg"], "demo", "web"));
    }
}
