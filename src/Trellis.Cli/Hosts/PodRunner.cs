using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Commands;
using Trellis.Controller.State;

namespace Trellis.Cli.Hosts;

/// <summary>
/// Runs one pod: register (address from the registry), build the network, start the proxy and
/// the app, keep the lease (re-registering after a controller restart) and the hosts file fresh,
/// forward signals to the app, and tear everything down when the app exits, whatever happens.
/// </summary>
internal static class PodRunner
{
    /// <summary>
    /// Between deregistering and signalling the app: the controller pushes the removal to every
    /// watching proxy at once, so a second covers delivery with a wide margin.
    /// </summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(StateDirectory state, string? controller, PodOptions options)
    {
        using var client = ControllerClient.Create(state, controller, admin: true);
        var request = options.Registration;
        RegisterResponse registered;
        IssueTokenResponse token;
        try
        {
            registered = await client.Registry.RegisterAsync(request, client.Admin());
            token = await client.Registry.IssueTokenAsync(new IssueTokenRequest { Namespace = request.Namespace, ServiceAccount = request.ServiceAccount }, client.Admin());
        }
        catch (RpcException e)
        {
            throw client.Explain(e);
        }

        request.Address = registered.Address;
        var pod = new PodSpec(request.Namespace, request.Pod, IPAddress.Parse(registered.Address), (int)registered.PrefixLength,
            IPAddress.Parse(registered.Gateway), ControllerSettings.Load(state).ServiceCidr, options.SkipInbound, options.SkipOutbound);
        Process? proxy = null;
        Process? app = null;
        using var stop = new CancellationTokenSource();
        try
        {
            await PodNetwork.CreateAsync(pod);
            var runtime = PodNames.RuntimeDirectory(pod.Netns);
            Directory.CreateDirectory(runtime);
            var tokenFile = Path.Combine(runtime, "token");
            var anchorFile = Path.Combine(runtime, "trust-anchor.crt");
            await File.WriteAllTextAsync(tokenFile, token.Token);
            File.Copy(state.TrustAnchorCertificate, anchorFile, overwrite: true);
            // The proxy runs as uid 2102 and must read both; only it (and root) may read the token.
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead);
            Chown(tokenFile, PodNetwork.ProxyUid);
            File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
            await RefreshHostsAsync(client, pod);

            var controllerPort = client.Address[(client.Address.LastIndexOf(':') + 1)..];
            proxy = await ProxyLauncher.StartAsync(new ProxyLaunch(pod.Netns, $"{pod.Gateway}:{controllerPort}", registered.Identity,
                tokenFile, anchorFile, options.OpaquePorts));
            app = StartApp(pod, options.Command);
            await Console.Error.WriteLineAsync($"trellis: pod {pod.Namespace}/{pod.Name} at {pod.Address} (identity {registered.Identity})");

            var appPid = app.Id;
            var lease = Task.CompletedTask;
            var draining = 0;
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
            using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Forward);
            var ports = request.Services.Select(s => (int)s.Port).ToList();
            lease = KeepLeaseAsync(client, request, pod, appPid, ports, TimeSpan.FromSeconds(Math.Max(1, registered.LeaseSeconds / 3.0)), stop.Token);
            await app.WaitForExitAsync();
            await stop.CancelAsync();
            await lease;
            return app.ExitCode;

            void Forward(PosixSignalContext context)
            {
                context.Cancel = true;
                var signal = context.Signal switch
                {
                    PosixSignal.SIGINT => Signals.SigInt,
                    PosixSignal.SIGQUIT => Signals.SigQuit,
                    _ => Signals.SigTerm,
                };
                if (signal == Signals.SigQuit || Interlocked.Exchange(ref draining, 1) == 1)
                {
                    // SIGQUIT asks for a dump, not a stop; a second stop signal means "now".
                    Signals.Send(appPid, signal);
                    return;
                }

                _ = DrainThenSignalAsync(signal);
            }

            // Leave the endpoint sets before the app stops, as Kubernetes removes a terminating
            // pod's endpoints: clients' proxies stop choosing this pod, so stopping it costs no requests.
            async Task DrainThenSignalAsync(int signal)
            {
                try
                {
                    await stop.CancelAsync();
                    await lease;
                    await client.Registry.DeregisterAsync(new DeregisterRequest { Namespace = pod.Namespace, Pod = pod.Name },
                        client.Admin().WithDeadline(Deadlines.In(TimeSpan.FromSeconds(3))));
                    await Console.Error.WriteLineAsync($"trellis: pod {pod.Namespace}/{pod.Name} deregistered; stopping the app in {DrainGrace.TotalSeconds:0.#} s");
                    await Task.Delay(DrainGrace);
                }
                catch (RpcException e)
                {
                    await Console.Error.WriteLineAsync($"trellis: could not deregister before stopping ({e.StatusCode}); the lease will expire");
                }
                finally
                {
                    Signals.Send(appPid, signal);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await client.Registry.DeregisterAsync(new DeregisterRequest { Namespace = pod.Namespace, Pod = pod.Name },
                    client.Admin().WithDeadline(Deadlines.In(TimeSpan.FromSeconds(3))));
            }
            catch (RpcException)
            {
                // The lease expires on its own when the controller is unreachable.
            }

            if (proxy is not null && !proxy.HasExited)
            {
                await StopAsync(proxy);
            }

            app?.Dispose();
            proxy?.Dispose();
            await PodCleanup.RemoveAsync(pod.Netns);
        }
    }

    private static Process StartApp(PodSpec pod, IReadOnlyList<string> command)
    {
        // `ip netns exec` execs the app in place, so this pid is the app's: signals reach it directly.
        var start = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var arg in new[] { "netns", "exec", pod.Netns }.Concat(command))
        {
            start.ArgumentList.Add(arg);
        }

        // What Kubernetes' downward API would give: the app can tell which pod it is (pods share the host's hostname).
        start.Environment["TRELLIS_POD_NAME"] = pod.Name;
        start.Environment["TRELLIS_POD_NAMESPACE"] = pod.Namespace;
        start.Environment["TRELLIS_POD_IP"] = pod.Address.ToString();

        return Process.Start(start) ?? throw new CliException($"cannot start {command[0]}");
    }

    private static async Task KeepLeaseAsync(ControllerClient client, RegisterRequest request, PodSpec pod, int appPid,
        IReadOnlyCollection<int> ports, TimeSpan interval, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(1) };
        while (!cancellationToken.IsCancellationRequested)
        {
            var ready = Readiness.IsListening(appPid, ports) &&
                await ProxyProbe.ProblemAsync(http, pod.Address.ToString(), PodNetwork.AdminPort, cancellationToken) is null;
            try
            {
                try
                {
                    await client.Registry.RenewAsync(new RenewRequest { Namespace = pod.Namespace, Pod = pod.Name, Ready = ready }, client.Admin(cancellationToken));
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    // The controller restarted (or the lease lapsed): register again with the same address.
                    request.Ready = ready;
                    await client.Registry.RegisterAsync(request, client.Admin(cancellationToken));
                }

                await RefreshHostsAsync(client, pod);
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e)
            {
                await Console.Error.WriteLineAsync($"trellis: lease renewal failed ({e.StatusCode}: {e.Status.Detail}); retrying");
            }

            try
            {
                // Poll faster until ready so the pod becomes an endpoint soon after the app listens.
                await Task.Delay(ready ? interval : TimeSpan.FromMilliseconds(200), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task RefreshHostsAsync(ControllerClient client, PodSpec pod)
    {
        var services = await client.Registry.ListServicesAsync(new ListRequest());
        await PodNetwork.RefreshHostsAsync(pod, services.Services);
    }

    private static async Task StopAsync(Process process)
    {
        Signals.Send(process.Id, Signals.SigTerm);
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    private static void Chown(string path, int uid)
    {
        if (NativeMethods.Chown(path, uid, uid) != 0)
        {
            throw new CliException($"cannot give {path} to uid {uid} (errno {Marshal.GetLastPInvokeError()})");
        }
    }
}
