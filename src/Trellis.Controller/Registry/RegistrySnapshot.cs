using System.Collections.Immutable;
using System.Net;

namespace Trellis.Controller.Registry;

/// <summary>An immutable view of every pod and service; a new version replaces it on each change.</summary>
public sealed record RegistrySnapshot(long Version, ImmutableArray<WorkloadPod> Pods, ImmutableArray<ServiceRecord> Services)
{
    /// <summary>The empty snapshot (version 0).</summary>
    public static RegistrySnapshot Empty { get; } = new(0, [], []);

    /// <summary>The service named <paramref name="name"/> in <paramref name="ns"/>, or null.</summary>
    public ServiceRecord? FindService(string ns, string name)
    {
        foreach (var service in Services)
        {
            if (service.Namespace == ns && service.Name == name)
            {
                return service;
            }
        }

        return null;
    }

    /// <summary>The service whose virtual IP is <paramref name="address"/>, or null.</summary>
    public ServiceRecord? FindServiceByAddress(IPAddress address)
    {
        foreach (var service in Services)
        {
            if (service.VirtualIp.Equals(address))
            {
                return service;
            }
        }

        return null;
    }

    /// <summary>The pod with address <paramref name="address"/>, or null.</summary>
    public WorkloadPod? FindPodByAddress(IPAddress address)
    {
        foreach (var pod in Pods)
        {
            if (pod.Address.Equals(address))
            {
                return pod;
            }
        }

        return null;
    }
}
