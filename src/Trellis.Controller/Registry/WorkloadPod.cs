using System.Collections.Immutable;
using System.Net;

namespace Trellis.Controller.Registry;

/// <summary>One running instance of a workload, with the services (name and port) it serves.</summary>
public sealed record WorkloadPod(
    string Namespace,
    string Name,
    string Workload,
    string ServiceAccount,
    IPAddress Address,
    bool Ready,
    ImmutableArray<ServicePortRef> Services,
    ImmutableSortedDictionary<string, string> Labels,
    ImmutableArray<int> OpaquePorts,
    string Identity,
    DateTimeOffset LeaseExpires);
