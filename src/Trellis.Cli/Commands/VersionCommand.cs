using System.CommandLine;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Controller.Hosting;

namespace Trellis.Cli.Commands;

/// <summary>`trellis version [--client]`.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var clientOnly = new Option<bool>("--client") { Description = "Print only the client version" };
        var command = new Command("version", "Print the client and controller versions") { clientOnly };
        command.SetAction(async (parse, cancellationToken) =>
        {
            Console.Out.Write($"Client version: {ControllerVersion.Value}\n");
            if (parse.GetValue(clientOnly))
            {
                return 0;
            }

            try
            {
                using var client = ControllerClient.Create(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), admin: false);
                var info = await client.Registry.GetInfoAsync(new GetInfoRequest(), deadline: Deadlines.In(TimeSpan.FromSeconds(3)), cancellationToken: cancellationToken);
                Console.Out.Write($"Controller version: {info.Version}\n");
            }
            catch (Exception e) when (e is RpcException or CliException)
            {
                Console.Out.Write("Controller version: unavailable\n");
            }

            return 0;
        });
        return command;
    }
}
