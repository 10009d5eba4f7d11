using System.Text;
using Trellis.Api.Registry.V1;

namespace Trellis.Cli.Hosts;

/// <summary>
/// Builds a pod's network: a namespace, a veth to the bridge, the pod address, routes only for
/// the pod range (connected) and the service range (via the bridge: connect() to a VIP needs a
/// route before nat OUTPUT can redirect it), no default route, the proxy-init iptables rules,
/// and the /etc/netns files `ip netns exec` mounts over /etc/hosts and /etc/resolv.conf.
/// </summary>
internal static class PodNetwork
{
    public const int ProxyUid = 2102;
    public const int InboundPort = 4143;
    public const int OutboundPort = 4140;
    public const int AdminPort = 4191;

    public static async Task CreateAsync(PodSpec pod)
    {
        var netns = pod.Netns;
        var hostVeth = PodNames.HostVeth(netns);
        var peer = PodNames.PeerVeth(netns);
        await Shell.RunAsync("ip", "netns", "add", netns);
        await Shell.RunAsync("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", peer);
        await Shell.RunAsync("ip", "link", "set", hostVeth, "master", HostNetwork.Bridge, "up");
        await Shell.RunAsync("ip", "link", "set", peer, "netns", netns);
        await Shell.RunAsync("ip", "-n", netns, "link", "set", peer, "name", "eth0");
        await Shell.RunAsync("ip", "-n", netns, "addr", "add", $"{pod.Address}/{pod.PrefixLength}", "dev", "eth0");
        await Shell.RunAsync("ip", "-n", netns, "link", "set", "eth0", "up");
        await Shell.RunAsync("ip", "-n", netns, "link", "set", "lo", "up");
        await Shell.RunAsync("ip", "-n", netns, "route", "add", pod.ServiceCidr, "via", pod.Gateway.ToString());
        foreach (var rule in ProxyInitRules(pod))
        {
            await Shell.RunAsync("ip", ["netns", "exec", netns, "iptables", .. rule]);
        }

        Directory.CreateDirectory(PodNames.EtcDirectory(netns));
        await File.WriteAllTextAsync(Path.Combine(PodNames.EtcDirectory(netns), "resolv.conf"),
            $"# trellis pod {pod.Namespace}/{pod.Name}: service names resolve from /etc/hosts\n" +
            $"search {pod.Namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
        await File.WriteAllTextAsync(Path.Combine(PodNames.EtcDirectory(netns), "hosts"), HostsFile(pod, []));
    }

    /// <summary>
    /// The rules Linkerd's proxy-init installs: all inbound TCP to the proxy's inbound port, all
    /// outbound TCP to its outbound port, except the proxy's own traffic (uid 2102), loopback,
    /// and the skip ports.
    /// </summary>
    internal static List<string[]> ProxyInitRules(PodSpec pod)
    {
        var rules = new List<string[]>();
        rules.Add(["-t", "nat", "-N", "PROXY_INIT_REDIRECT"]);
        var skipIn = new List<int> { AdminPort };
        skipIn.AddRange(pod.SkipInboundPorts);
        rules.Add(["-t", "nat", "-A", "PROXY_INIT_REDIRECT", "-p", "tcp", "-m", "multiport", "--dports", string.Join(',', skipIn), "-j", "RETURN"]);
        rules.Add(["-t", "nat", "-A", "PROXY_INIT_REDIRECT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", InboundPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        rules.Add(["-t", "nat", "-A", "PREROUTING", "-j", "PROXY_INIT_REDIRECT"]);
        rules.Add(["-t", "nat", "-N", "PROXY_INIT_OUTPUT"]);
        rules.Add(["-t", "nat", "-A", "PROXY_INIT_OUTPUT", "-m", "owner", "--uid-owner", ProxyUid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-j", "RETURN"]);
        rules.Add(["-t", "nat", "-A", "PROXY_INIT_OUTPUT", "-o", "lo", "-j", "RETURN"]);
        if (pod.SkipOutboundPorts.Count > 0)
        {
            rules.Add(["-t", "nat", "-A", "PROXY_INIT_OUTPUT", "-p", "tcp", "-m", "multiport", "--dports", string.Join(',', pod.SkipOutboundPorts), "-j", "RETURN"]);
        }

        rules.Add(["-t", "nat", "-A", "PROXY_INIT_OUTPUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", OutboundPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        rules.Add(["-t", "nat", "-A", "OUTPUT", "-j", "PROXY_INIT_OUTPUT"]);
        return rules;
    }

    /// <summary>The pod's hosts file: localhost, itself, and every service's names on its VIP.</summary>
    internal static string HostsFile(PodSpec pod, IEnumerable<Service> services)
    {
        var text = new StringBuilder();
        text.Append("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        text.Append(pod.Address).Append('\t').Append(pod.Name).Append('\n');
        foreach (var service in services)
        {
            text.Append(service.VirtualIp).Append('\t')
                .Append(service.Name).Append('.').Append(service.Namespace).Append(".svc.cluster.local ")
                .Append(service.Name).Append('.').Append(service.Namespace).Append(".svc ")
                .Append(service.Name).Append('.').Append(service.Namespace).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Rewrites the hosts file in place: `ip netns exec` bind-mounts the file, so a rename would not be seen.</summary>
    public static async Task RefreshHostsAsync(PodSpec pod, IEnumerable<Service> services)
    {
        var path = Path.Combine(PodNames.EtcDirectory(pod.Netns), "hosts");
        var content = HostsFile(pod, services);
        if (!File.Exists(path) || await File.ReadAllTextAsync(path) != content)
        {
            await using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write);
            stream.SetLength(0);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(content));
        }
    }
}
