using System.CommandLine;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Hosts;
using Trellis.Controller;
using Trellis.Controller.Identity;
using Trellis.Controller.Registry;
using Trellis.Controller.Tokens;

namespace Trellis.Cli.Commands;

/// <summary>
/// `trellis up`: checks the ranges against host routes, creates the bridge, and starts the
/// controller in the background (listening on loopback for the CLI and on the bridge for
/// proxies). Idempotent: a running controller is left alone.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var podCidr = new Option<string>("--pod-cidr") { Description = "Pod address range", DefaultValueFactory = _ => "10.42.0.0/16" };
        var serviceCidr = new Option<string>("--service-cidr") { Description = "Service virtual IP range", DefaultValueFactory = _ => "10.43.0.0/16" };
        var port = new Option<int>("--port") { Description = "Controller gRPC port", DefaultValueFactory = _ => ControllerOptions.DefaultPort };
        var command = new Command("up", "Create the bridge and start the controller in the background") { podCidr, serviceCidr, port };
        command.SetAction(async (parse, cancellationToken) =>
        {
            Privileges.RequireNetAdmin("up");
            var state = GlobalOptions.State(parse);
            AddressRange pods, services;
            try
            {
                pods = AddressRange.Parse(parse.GetValue(podCidr)!, "--pod-cidr");
                services = AddressRange.Parse(parse.GetValue(serviceCidr)!, "--service-cidr");
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message, 2);
            }

            await HostNetwork.RequireFreeRangesAsync(pods, services);
            using (CertificateAuthority.LoadOrCreate(state, "cluster.local", TimeProvider.System))
            {
                WorkloadTokens.LoadOrCreate(state, TimeProvider.System);
                AdminCredential.LoadOrCreate(state);
            }

            await HostNetwork.EnsureBridgeAsync(pods);
            if (Daemon.RunningPid(state) is { } running)
            {
                Console.Out.Write($"Controller already running (pid {running}); bridge {HostNetwork.Bridge} is up\n");
                return 0;
            }

            var settings = new ControllerSettings(parse.GetValue(port), pods.ToString(), services.ToString());
            settings.Save(state);
            var pid = Daemon.Start(state,
            [
                "--dir", state.Root,
                "--listen", $"127.0.0.1,{pods.At(1)}",
                "--port", settings.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--pod-cidr", settings.PodCidr,
                "--service-cidr", settings.ServiceCidr,
            ]);
            await WaitReadyAsync(state, pid, cancellationToken);
            Console.Out.Write($"Controller started (pid {pid}, log {state.ControllerLog}), listening on 127.0.0.1:{settings.Port} and {pods.At(1)}:{settings.Port}\n");
            return 0;
        });
        return command;
    }

    private static async Task WaitReadyAsync(Controller.State.StateDirectory state, int pid, CancellationToken cancellationToken)
    {
        using var client = ControllerClient.Create(state, null, admin: false);
        string last = "no answer";
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                throw new CliException($"the controller exited at start; see {state.ControllerLog}");
            }

            try
            {
                await client.Registry.GetInfoAsync(new GetInfoRequest(), deadline: Deadlines.In(TimeSpan.FromSeconds(2)), cancellationToken: cancellationToken);
                return;
            }
            catch (RpcException e)
            {
                last = e.Status.Detail;
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new CliException($"the controller did not answer within 30 s ({last}); see {state.ControllerLog}");
    }
}
