using System.Net;
using Google.Protobuf;
using Trellis.Api.Destination.V1;
using Endpoint = Trellis.Api.Destination.V1.Endpoint;
using Trellis.Controller.Registry;

namespace Trellis.Controller.Destination;

/// <summary>
/// Turns a registry snapshot into the endpoint set of one destination, and two sets into the
/// Add/Remove/NoEndpoints updates a proxy applies. Kept apart from the gRPC stream so it is
/// tested without one (as linkerd2's destination translators are).
/// </summary>
public sealed class EndpointTranslator
{
    /// <summary>The port of every proxy's inbound listener.</summary>
    public const int ProxyInboundPort = 4143;

    /// <summary>Resolves <paramref name="path"/> in <paramref name="snapshot"/>.</summary>
    public static DestinationView Resolve(RegistrySnapshot snapshot, DestinationPath path)
    {
        var endpoints = new Dictionary<IPEndPoint, Endpoint>();
        ServiceRecord? service = path.IsName
            ? snapshot.FindService(path.Namespace!, path.Service!)
            : snapshot.FindServiceByAddress(path.Address!);
        if (service is null)
        {
            // A pod address dialled directly: that one pod, still meshed, when it is ready.
            var pod = path.Address is null ? null : snapshot.FindPodByAddress(path.Address);
            if (pod is null)
            {
                return new DestinationView(false, endpoints, new Dictionary<string, string>());
            }

            if (pod.Ready)
            {
                endpoints[new IPEndPoint(pod.Address, path.Port)] = ToEndpoint(pod, path.Port);
            }

            return new DestinationView(true, endpoints, new Dictionary<string, string> { ["dst_namespace"] = pod.Namespace });
        }

        foreach (var pod in snapshot.Pods)
        {
            if (!pod.Ready || pod.Namespace != service.Namespace)
            {
                continue;
            }

            foreach (var served in pod.Services)
            {
                if (served.Name == service.Name && served.Port == path.Port)
                {
                    endpoints[new IPEndPoint(pod.Address, served.Port)] = ToEndpoint(pod, served.Port);
                }
            }
        }

        return new DestinationView(true, endpoints, new Dictionary<string, string>
        {
            ["dst_namespace"] = service.Namespace,
            ["dst_service"] = service.Name,
        });
    }

    /// <summary>
    /// The updates that take a proxy from <paramref name="previous"/> (null: nothing sent yet) to
    /// <paramref name="current"/>: NoEndpoints when the set is (or becomes) empty, else Remove for
    /// gone addresses and one Add for new or changed endpoints.
    /// </summary>
    public static List<Update> Diff(DestinationView? previous, DestinationView current)
    {
        var updates = new List<Update>();
        if (current.Endpoints.Count == 0)
        {
            if (previous is null || previous.Endpoints.Count > 0 || previous.Exists != current.Exists)
            {
                updates.Add(new Update { NoEndpoints = new NoEndpoints { Exists = current.Exists } });
            }

            return updates;
        }

        if (previous is not null && previous.Endpoints.Count > 0)
        {
            var removed = new RemovedEndpoints();
            foreach (var address in previous.Endpoints.Keys)
            {
                if (!current.Endpoints.ContainsKey(address))
                {
                    removed.Addresses.Add(ToAddress(address));
                }
            }

            if (removed.Addresses.Count > 0)
            {
                updates.Add(new Update { Remove = removed });
            }
        }

        var added = new EndpointSet();
        foreach (var (key, value) in current.Labels)
        {
            added.MetricLabels[key] = value;
        }

        foreach (var (address, endpoint) in current.Endpoints)
        {
            if (previous is null || !previous.Endpoints.TryGetValue(address, out var before) || !before.Equals(endpoint))
            {
                added.Endpoints.Add(endpoint);
            }
        }

        if (added.Endpoints.Count > 0)
        {
            updates.Add(new Update { Add = added });
        }

        return updates;
    }

    /// <summary>The protobuf address of <paramref name="endpoint"/>.</summary>
    public static TcpAddress ToAddress(IPEndPoint endpoint) => new()
    {
        Ip = ByteString.CopyFrom(endpoint.Address.GetAddressBytes()),
        Port = (uint)endpoint.Port,
    };

    private static Endpoint ToEndpoint(WorkloadPod pod, int port)
    {
        var endpoint = new Endpoint
        {
            Address = ToAddress(new IPEndPoint(pod.Address, port)),
            Weight = 1,
            TlsIdentity = new TlsIdentity { SpiffeId = pod.Identity },
            ProtocolHint = new ProtocolHint
            {
                Protocol = pod.OpaquePorts.Contains(port) ? ProtocolHint.Types.Protocol.Opaque : ProtocolHint.Types.Protocol.Unknown,
                InboundPort = ProxyInboundPort,
            },
        };
        foreach (var (key, value) in pod.Labels)
        {
            endpoint.MetricLabels[key] = value;
        }

        endpoint.MetricLabels["dst_pod"] = pod.Name;
        endpoint.MetricLabels["dst_workload"] = pod.Workload;
        endpoint.MetricLabels["dst_serviceaccount"] = pod.ServiceAccount;
        return endpoint;
    }
}
