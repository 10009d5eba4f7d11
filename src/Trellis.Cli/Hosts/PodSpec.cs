using System.Net;

namespace Trellis.Cli.Hosts;

/// <summary>Everything needed to build one pod's network.</summary>
internal sealed record PodSpec(
    string Namespace,
    string Name,
    IPAddress Address,
    int PrefixLength,
    IPAddress Gateway,
    string ServiceCidr,
    IReadOnlyList<int> SkipInboundPorts,
    IReadOnlyList<int> SkipOutboundPorts)
{
    public string Netns => PodNames.Netns(Namespace, Name);
}
