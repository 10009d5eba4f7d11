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
            using var client = ControllerClient.Create(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), admin: false);
            ListPodsResponse pods;
            try
            {
                pods = await client.Registry.ListPodsAsync(new ListRequest { Namespace = ns }, cancellationToken: cancellationToken);
            }
            catch (RpcException e)
            {
                throw client.Explain(e);
            }

            var pod = pods.Pods.FirstOrDefault(p => p.Name == name)
                ?? pods.Pods.Where(p => p.Workload == name).OrderByDescending(p => p.Ready).FirstOrDefault()
                ?? throw new CliException($"no pod or workload '{name}' in namespace {ns} (see `trellis get pods -n {ns}`)");
            var start = new ProcessStartInfo("ip") { UseShellExecute = false };
            foreach (var arg in new[] { "netns", "exec", PodNames.Netns(ns, pod.Name) }.Concat(parse.GetValue(command)!))
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new CliException("cannot start ip netns exec");
            await process.WaitForExitAsync(CancellationToken.None);
            return process.ExitCode;
        });
        return exec;
    }
}
