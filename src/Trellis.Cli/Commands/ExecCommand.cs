using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Commands;

/// <summary>`trellis exec POD|WORKLOAD -n NS -- CMD`: runs a command inside a pod, intercepted like the app.</summary>
internal static class ExecCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("pod") { Description = "Pod name, or a workload name (its first ready pod)" };
        var command = new Argument<string[]>("command") { Description = "Command and arguments, after --", Arity = ArgumentArity.OneOrMore };
        var exec = new Command("exec", "Run a command inside a pod (its traffic goes through the pod's proxy)") { target, command, GetCommand.Namespace };
        exec.SetAction(async (parse, cancellationToken) =>
        {
            Privileges.RequireNetAdmin("exec");
            var ns = parse.GetValue(GetCommand.Namespace) ?? "default";
            var name = parse.GetValue(target)!;
            var netns = await ResolveAsync(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), ns, name, cancellationToken);
            var start = new ProcessStartInfo("ip") { UseShellExecute = false };
            foreach (var arg in new[] { "netns", "exec", netns }.Concat(parse.GetValue(command)!))
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new CliException("cannot start ip netns exec");
            await process.WaitForExitAsync(CancellationToken.None);
            return process.ExitCode;
        });
        return exec;
    }

    /// <summary>
    /// Asks the controller (it knows which pods are ready); when it is unreachable, falls back to
    /// the pod namespaces on this host so a controller outage does not lock one out of the pods.
    /// </summary>
    private static async Task<string> ResolveAsync(Controller.State.StateDirectory state, string? controller, string ns, string name, CancellationToken cancellationToken)
    {
        using var client = ControllerClient.Create(state, controller, admin: false);
        try
        {
            var pods = await client.Registry.ListPodsAsync(new ListRequest { Namespace = ns }, deadline: Deadlines.In(TimeSpan.FromSeconds(5)), cancellationToken: cancellationToken);
            var pod = pods.Pods.FirstOrDefault(p => p.Name == name)
                ?? pods.Pods.Where(p => p.Workload == name).OrderByDescending(p => p.Ready).FirstOrDefault();
            if (pod is not null)
            {
                return PodNames.Netns(ns, pod.Name);
            }

            // A controller that just restarted knows a running pod only once it renews its lease.
            return await LocalPods.FindNetnsAsync(ns, name)
                ?? throw new CliException($"no pod or workload '{name}' in namespace {ns} (see `trellis get pods -n {ns}`)");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            await Console.Error.WriteLineAsync($"trellis: {client.Explain(e).Message}; looking for the pod on this host instead");
            return await LocalPods.FindNetnsAsync(ns, name)
                ?? throw new CliException($"the controller is unreachable and no pod or workload '{name}' of namespace {ns} runs on this host");
        }
        catch (RpcException e)
        {
            throw client.Explain(e);
        }
    }
}
