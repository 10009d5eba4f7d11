using System.CommandLine;
using System.Globalization;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Commands;

/// <summary>`trellis run WORKLOAD -n NS --service NAME:PORT ... -- CMD [ARGS]`: one pod with its proxy, registered, until the app exits.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var workload = new Argument<string>("workload") { Description = "Workload name (the pod is WORKLOAD-xxxxx)" };
        var command = new Argument<string[]>("command") { Description = "The app and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var services = new Option<string[]>("--service") { Description = "Service NAME:PORT this workload serves (repeatable)", AllowMultipleArgumentsPerToken = false };
        var serviceAccount = new Option<string>("--serviceaccount") { Description = "Service account (identity)", DefaultValueFactory = _ => "default" };
        var labels = new Option<string[]>("--label") { Description = "Label k=v (repeatable)" };
        var skipIn = new Option<string?>("--skip-inbound-ports") { Description = "Comma-separated inbound ports not redirected to the proxy" };
        var skipOut = new Option<string?>("--skip-outbound-ports") { Description = "Comma-separated outbound ports not redirected to the proxy" };
        var opaque = new Option<string?>("--opaque-ports") { Description = "Comma-separated ports proxied as opaque TCP" };
        var run = new Command("run", "Run a workload in a pod (network namespace) with its proxy")
        {
            workload, command, GetCommand.Namespace, services, serviceAccount, labels, skipIn, skipOut, opaque,
        };
        run.SetAction(async (parse, _) =>
        {
            Privileges.RequireNetAdmin("run");
            var ns = parse.GetValue(GetCommand.Namespace) ?? "default";
            var request = new RegisterRequest
            {
                Namespace = ns,
                Workload = parse.GetValue(workload)!,
                Pod = PodNames.NewPodName(parse.GetValue(workload)!),
                ServiceAccount = parse.GetValue(serviceAccount)!,
            };
            foreach (var service in parse.GetValue(services) ?? [])
            {
                var colon = service.LastIndexOf(':');
                if (colon <= 0 || !uint.TryParse(service.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                {
                    throw new CliException($"--service '{service}' must be NAME:PORT", 2);
                }

                request.Services.Add(new ServicePort { Name = service[..colon], Port = port });
            }

            foreach (var label in parse.GetValue(labels) ?? [])
            {
                var eq = label.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new CliException($"--label '{label}' must be KEY=VALUE", 2);
                }

                request.Labels[label[..eq]] = label[(eq + 1)..];
            }

            var opaquePorts = Ports(parse.GetValue(opaque), "--opaque-ports");
            request.OpaquePorts.AddRange(opaquePorts.Select(p => (uint)p));
            var options = new PodOptions(request, Ports(parse.GetValue(skipIn), "--skip-inbound-ports"),
                Ports(parse.GetValue(skipOut), "--skip-outbound-ports"), opaquePorts, parse.GetValue(command)!);
            return await PodRunner.RunAsync(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), options);
        });
        return run;
    }

    internal static List<int> Ports(string? value, string flag)
    {
        var ports = new List<int>();
        foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new CliException($"{flag} '{part}' is not a port (1-65535)", 2);
            }

            ports.Add(port);
        }

        return ports;
    }
}
