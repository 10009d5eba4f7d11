using System.CommandLine;
using Trellis.Cli.Check;

namespace Trellis.Cli.Commands;

/// <summary>`trellis check [-o json]`: runs <see cref="HostsChecks"/>; exit 1 when any error-level check fails.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var command = new Command("check", "Check the controller, certificates and proxies; one line per check with a hint");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var context = new CheckContext(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), TimeProvider.System);
            var results = await CheckRunner.RunAsync(HostsChecks.All, context, cancellationToken);
            Console.Out.Write(GlobalOptions.Json(parse) ? CheckRenderer.JsonText(results) : CheckRenderer.Text(results));
            return CheckRunner.Succeeded(results) ? 0 : 1;
        });
        return command;
    }
}
