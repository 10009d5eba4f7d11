using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Check;

/// <summary>The checks `trellis check` runs against a hosts-mode installation, in order.</summary>
internal static class HostsChecks
{
    private static readonly TimeSpan AnchorWarnBefore = TimeSpan.FromDays(60);
    private static readonly TimeSpan IssuerWarnBefore = TimeSpan.FromDays(30);
    private static readonly TimeSpan LeafWarnBefore = TimeSpan.FromHours(1);

    public static IReadOnlyList<CheckDefinition> All { get; } =
    [
        new("trellis-controller", "controller process is running", "run `trellis up` (as root)", CheckSeverity.Fatal, ControllerRunningAsync),
        new("trellis-controller", "controller is reachable over TLS and verified against the trust anchor",
            "see the controller log in the state directory; `trellis down && trellis up` restarts it", CheckSeverity.Fatal, ControllerReachableAsync),
        new("trellis-identity", "trust anchor is valid and not close to expiry",
            "create a new trust anchor: `trellis down`, remove the state directory, `trellis install --hosts`, `trellis up`", CheckSeverity.Error,
            (c, _) => Task.FromResult(Expiry("trust anchor", c.Info!.TrustAnchorExpires.ToDateTimeOffset(), c.Time, AnchorWarnBefore))),
        new("trellis-identity", "issuer certificate is valid and not close to expiry",
            "restart the controller (`trellis down && trellis up`): it replaces an issuer within 30 days of expiry", CheckSeverity.Error,
            (c, _) => Task.FromResult(Expiry("issuer", c.Info!.IssuerExpires.ToDateTimeOffset(), c.Time, IssuerWarnBefore))),
        new("trellis-identity", "controller serving certificate is valid",
            "restart the controller (`trellis down && trellis up`)", CheckSeverity.Error,
            (c, _) => Task.FromResult(Expiry("serving certificate", c.Info!.ServingCertificateExpires.ToDateTimeOffset(), c.Time, TimeSpan.Zero))),
        new("trellis-proxies", "every pod is registered with a current lease and ready",
            "see the output of the `trellis run` that started the pod; `trellis down` removes leftovers", CheckSeverity.Error, PodsReadyAsync),
        new("trellis-proxies", "every proxy is ready: listening and certified by the identity service",
            "check the proxy's log (the output of `trellis run`): it must reach the controller and present its token (`trellis run` provides both)",
            CheckSeverity.Error, ProxiesReadyAsync),
    ];

    private static Task<CheckOutcome> ControllerRunningAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var pid = Daemon.RunningPid(context.State);
        return Task.FromResult(pid is { } p
            ? CheckOutcome.Pass($"pid {p}")
            : CheckOutcome.Fail($"no live controller pid in {context.State.ControllerPid}"));
    }

    private static async Task<CheckOutcome> ControllerReachableAsync(CheckContext context, CancellationToken cancellationToken)
    {
        context.Client = ControllerClient.Create(context.State, context.ControllerAddress, admin: false);
        try
        {
            context.Info = await context.Client.Registry.GetInfoAsync(new GetInfoRequest(), deadline: Deadlines.In(TimeSpan.FromSeconds(5)), cancellationToken: cancellationToken);
            context.Pods = await context.Client.Registry.ListPodsAsync(new ListRequest(), deadline: Deadlines.In(TimeSpan.FromSeconds(5)), cancellationToken: cancellationToken);
            return CheckOutcome.Pass($"{context.Client.Address}, version {context.Info.Version}");
        }
        catch (RpcException e)
        {
            return CheckOutcome.Fail($"{context.Client.Address}: {e.Status.StatusCode}: {e.Status.Detail}");
        }
    }

    private static Task<CheckOutcome> PodsReadyAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var notReady = context.Pods!.Pods.Where(p => !p.Ready).Select(p => $"{p.Namespace}/{p.Name}").ToList();
        return Task.FromResult(notReady.Count == 0
            ? CheckOutcome.Pass($"{context.Pods.Pods.Count} pods")
            : CheckOutcome.Fail("not ready: " + string.Join(", ", notReady)));
    }

    /// <summary>
    /// Asks every proxy itself (admin /ready on the pod address: the proxy is not ready until the
    /// identity service certified it). The controller's record of issued certificates is only a
    /// second opinion: it lives in memory, so after a controller restart it knows nothing of the
    /// certificates proxies still hold, and those proxies are fine.
    /// </summary>
    private static async Task<CheckOutcome> ProxiesReadyAsync(CheckContext context, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(3) };
        var pods = context.Pods!.Pods;
        var probes = await Task.WhenAll(pods.Select(pod => ProxyProbe.ProblemAsync(http, pod.Address, PodNetwork.AdminPort, cancellationToken)));
        return ProxyVerdict(pods, probes, context.Time.GetUtcNow());
    }

    /// <summary>The failures among <paramref name="pods"/> given each proxy's /ready answer (null: ready).</summary>
    internal static CheckOutcome ProxyVerdict(IReadOnlyList<Pod> pods, IReadOnlyList<string?> probes, DateTimeOffset now)
    {
        var bad = new List<string>();
        for (var i = 0; i < pods.Count; i++)
        {
            var pod = pods[i];
            if (probes[i] is { } problem)
            {
                bad.Add($"{pod.Namespace}/{pod.Name} ({problem})");
            }
            else if (pod.CertificateExpires is { } expires && expires.ToDateTimeOffset() - now < LeafWarnBefore)
            {
                bad.Add($"{pod.Namespace}/{pod.Name} (certificate expires {expires.ToDateTimeOffset():u})");
            }
        }

        return bad.Count == 0
            ? CheckOutcome.Pass($"{pods.Count} proxies")
            : CheckOutcome.Fail(string.Join(", ", bad));
    }

    internal static CheckOutcome Expiry(string what, DateTimeOffset notAfter, TimeProvider time, TimeSpan warnBefore)
    {
        var left = notAfter - time.GetUtcNow();
        if (left <= TimeSpan.Zero)
        {
            return CheckOutcome.Fail($"the {what} expired at {notAfter:u}");
        }

        return left < warnBefore
            ? CheckOutcome.Fail($"the {what} expires at {notAfter:u}, in {left.TotalDays:0.#} days")
            : CheckOutcome.Pass($"valid until {notAfter:u}");
    }
}
