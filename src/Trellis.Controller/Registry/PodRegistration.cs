using System.Net;

namespace Trellis.Controller.Registry;

/// <summary>What a pod's owner registers; <see cref="Address"/> null asks for a new address.</summary>
public sealed record PodRegistration(
    string Namespace,
    string Name,
    string Workload,
    string ServiceAccount,
    IReadOnlyList<ServicePortRef> Services,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<int> OpaquePorts,
    IPAddress? Address,
    bool Ready);
