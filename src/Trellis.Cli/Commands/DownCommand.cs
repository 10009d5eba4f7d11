using System.CommandLine;
using Trellis.Cli.Hosts;

namespace Trellis.Cli.Commands;

/// <summary>`trellis down`: stops the controller and removes every pod, veth, bridge and netns file earlier runs left.</summary>
internal static class DownCommand
{
    public static Command Create()
    {
        var command = new Command("down", "Stop the controller and remove every pod, link and rule hosts mode created");
        command.SetAction(async parse =>
        {
            Privileges.RequireNetAdmin("down");
            var state = GlobalOptions.State(parse);
            var stopped = await Daemon.StopAsync(state);
            var pods = await PodCleanup.RemoveAllAsync();
            var bridge = await HostNetwork.DeleteBridgeAsync();
            Console.Out.Write($"Controller {(stopped ? "stopped" : "was not running")}; removed {pods} pod namespace(s); bridge {(bridge ? "removed" : "was absent")}\n");
            return 0;
        });
        return command;
    }
}
