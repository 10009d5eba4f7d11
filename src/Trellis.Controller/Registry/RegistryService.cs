using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Controller.Hosting;
using Trellis.Controller.Identity;
using Trellis.Controller.Tokens;

namespace Trellis.Controller.Registry;

/// <summary>
/// The hosts registry API used by the CLI: register/renew/deregister pods (admin), list pods and
/// services, controller info, and workload tokens (admin).
/// </summary>
public sealed class RegistryService : Api.Registry.V1.Registry.RegistryBase
{
    private readonly HostsRegistry _registry;
    private readonly AdminCredential _admin;
    private readonly WorkloadTokens _tokens;
    private readonly IdentityLedger _ledger;
    private readonly CertificateAuthority _ca;
    private readonly ServingCertificates _serving;
    private readonly ControllerOptions _options;

    /// <summary>Creates the service.</summary>
    public RegistryService(HostsRegistry registry, AdminCredential admin, WorkloadTokens tokens, IdentityLedger ledger,
        CertificateAuthority ca, ServingCertificates serving, ControllerOptions options)
    {
        _registry = registry;
        _admin = admin;
        _tokens = tokens;
        _ledger = ledger;
        _ca = ca;
        _serving = serving;
        _options = options;
    }

    /// <inheritdoc/>
    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        _admin.Demand(context);
        IPAddress? address = null;
        if (request.Address.Length > 0 && !IPAddress.TryParse(request.Address, out address))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"address '{request.Address}' is not an IP address"));
        }

        var services = new List<ServicePortRef>();
        foreach (var service in request.Services)
        {
            services.Add(new ServicePortRef(service.Name, (int)Math.Min(service.Port, int.MaxValue)));
        }

        var opaque = new List<int>();
        foreach (var port in request.OpaquePorts)
        {
            opaque.Add((int)Math.Min(port, int.MaxValue));
        }

        var pod = Guard(() => _registry.Register(new PodRegistration(request.Namespace, request.Pod, request.Workload,
            request.ServiceAccount, services, request.Labels, opaque, address, request.Ready)));
        return Task.FromResult(new RegisterResponse
        {
            Address = pod.Address.ToString(),
            PrefixLength = (uint)_registry.PrefixLength,
            Gateway = _registry.Gateway.ToString(),
            LeaseSeconds = (uint)_registry.LeaseDuration.TotalSeconds,
            Identity = pod.Identity,
        });
    }

    /// <inheritdoc/>
    public override Task<RenewResponse> Renew(RenewRequest request, ServerCallContext context)
    {
        _admin.Demand(context);
        Guard(() =>
        {
            _registry.Renew(request.Namespace, request.Pod, request.Ready);
            return true;
        });
        return Task.FromResult(new RenewResponse { LeaseSeconds = (uint)_registry.LeaseDuration.TotalSeconds });
    }

    /// <inheritdoc/>
    public override Task<DeregisterResponse> Deregister(DeregisterRequest request, ServerCallContext context)
    {
        _admin.Demand(context);
        return Task.FromResult(new DeregisterResponse { Removed = _registry.Deregister(request.Namespace, request.Pod) });
    }

    /// <inheritdoc/>
    public override Task<ListPodsResponse> ListPods(ListRequest request, ServerCallContext context)
    {
        var response = new ListPodsResponse();
        foreach (var pod in _registry.Snapshot.Pods)
        {
            if (request.Namespace.Length > 0 && pod.Namespace != request.Namespace)
            {
                continue;
            }

            var item = new Pod
            {
                Namespace = pod.Namespace,
                Name = pod.Name,
                Workload = pod.Workload,
                ServiceAccount = pod.ServiceAccount,
                Address = pod.Address.ToString(),
                Ready = pod.Ready,
                Identity = pod.Identity,
                LeaseExpires = Timestamp.FromDateTimeOffset(pod.LeaseExpires),
            };
            foreach (var service in pod.Services)
            {
                item.Services.Add(new ServicePort { Name = service.Name, Port = (uint)service.Port });
            }

            item.Labels.Add(pod.Labels);
            if (_ledger.ExpiryOf(pod.Identity) is { } expiry)
            {
                item.CertificateExpires = Timestamp.FromDateTimeOffset(expiry);
            }

            response.Pods.Add(item);
        }

        return Task.FromResult(response);
    }

    /// <inheritdoc/>
    public override Task<ListServicesResponse> ListServices(ListRequest request, ServerCallContext context)
    {
        var snapshot = _registry.Snapshot;
        var response = new ListServicesResponse();
        foreach (var service in snapshot.Services)
        {
            if (request.Namespace.Length > 0 && service.Namespace != request.Namespace)
            {
                continue;
            }

            var item = new Service { Namespace = service.Namespace, Name = service.Name, VirtualIp = service.VirtualIp.ToString() };
            foreach (var port in service.Ports)
            {
                item.Ports.Add((uint)port);
            }

            foreach (var pod in snapshot.Pods)
            {
                if (pod.Ready && pod.Namespace == service.Namespace && pod.Services.Any(s => s.Name == service.Name))
                {
                    item.ReadyEndpoints++;
                }
            }

            response.Services.Add(item);
        }

        return Task.FromResult(response);
    }

    /// <inheritdoc/>
    public override Task<ControllerInfo> GetInfo(GetInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new ControllerInfo
        {
            Version = ControllerVersion.Value,
            TrustDomain = _ca.TrustDomain,
            PodCidr = _options.PodRange.ToString(),
            ServiceCidr = _options.ServiceRange.ToString(),
            TrustAnchorExpires = Timestamp.FromDateTime(_ca.TrustAnchor.NotAfter.ToUniversalTime()),
            IssuerExpires = Timestamp.FromDateTime(_ca.Issuer.NotAfter.ToUniversalTime()),
            ServingCertificateExpires = Timestamp.FromDateTimeOffset(_serving.NotAfter),
        });

    /// <inheritdoc/>
    public override Task<IssueTokenResponse> IssueToken(IssueTokenRequest request, ServerCallContext context)
    {
        _admin.Demand(context);
        var lifetime = request.TtlSeconds == 0 ? _options.TokenLifetime : TimeSpan.FromSeconds(request.TtlSeconds);
        var (token, expires) = Guard(() => _tokens.Issue(request.Namespace, request.ServiceAccount, lifetime));
        return Task.FromResult(new IssueTokenResponse
        {
            Token = token,
            Identity = SpiffeId.Format(_ca.TrustDomain, request.Namespace, request.ServiceAccount),
            Expires = Timestamp.FromDateTimeOffset(expires),
        });
    }

    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (RegistryException e)
        {
            var code = e.Error switch
            {
                RegistryError.NotFound => StatusCode.NotFound,
                RegistryError.AlreadyExists => StatusCode.AlreadyExists,
                RegistryError.ResourceExhausted => StatusCode.ResourceExhausted,
                _ => StatusCode.InvalidArgument,
            };
            throw new RpcException(new Status(code, e.Message));
        }
    }
}
