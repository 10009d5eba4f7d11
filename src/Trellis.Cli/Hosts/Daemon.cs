using System.Diagnostics;
using System.Globalization;
using System.Text;
using Trellis.Cli.Commands;
using Trellis.Controller.State;

namespace Trellis.Cli.Hosts;

/// <summary>Starts and stops `trellis-controller` in the background, tracked by a pid file in the state directory.</summary>
internal static class Daemon
{
    /// <summary>The pid in the pid file when that process is alive and is a trellis-controller; else null.</summary>
    public static int? RunningPid(StateDirectory state)
    {
        if (!File.Exists(state.ControllerPid)
            || !int.TryParse(File.ReadAllText(state.ControllerPid).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }

        try
        {
            // The command line guards against a recycled pid belonging to something else.
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("trellis-controller", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The controller binary: $TRELLIS_CONTROLLER, else next to this CLI.</summary>
    public static (string File, string[] Prefix) FindController()
    {
        var configured = Environment.GetEnvironmentVariable("TRELLIS_CONTROLLER");
        if (!string.IsNullOrEmpty(configured))
        {
            return (configured, []);
        }

        var here = AppContext.BaseDirectory;
        var apphost = Path.Combine(here, "trellis-controller");
        if (File.Exists(apphost))
        {
            return (apphost, []);
        }

        var dll = Path.Combine(here, "trellis-controller.dll");
        if (File.Exists(dll))
        {
            return ("dotnet", [dll]);
        }

        throw new CliException($"cannot find trellis-controller next to {here}; set TRELLIS_CONTROLLER to its path");
    }

    /// <summary>Starts the controller detached (own session, output appended to the log file) and writes the pid file.</summary>
    public static int Start(StateDirectory state, IEnumerable<string> arguments)
    {
        var (file, prefix) = FindController();
        // sh + setsid: the controller must outlive this CLI and its terminal; .NET cannot
        // redirect a child's output to a file, and a pipe would break when we exit.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=\"$1\"; shift; setsid \"$@\" >>\"$log\" 2>&1 </dev/null & echo $!");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(state.ControllerLog);
        start.ArgumentList.Add(file);
        foreach (var arg in prefix.Concat(arguments))
        {
            start.ArgumentList.Add(arg);
        }

        start.RedirectStandardOutput = true;
        using var shell = Process.Start(start) ?? throw new CliException("cannot start /bin/sh");
        var output = shell.StandardOutput.ReadToEnd();
        shell.WaitForExit();
        if (!int.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            throw new CliException($"starting the controller failed: {output.Trim()}");
        }

        StateDirectory.WritePublic(state.ControllerPid, Encoding.ASCII.GetBytes(pid + "\n"));
        return pid;
    }

    /// <summary>Stops the controller (SIGTERM, then SIGKILL after a grace period); false when none was running.</summary>
    public static async Task<bool> StopAsync(StateDirectory state)
    {
        var pid = RunningPid(state);
        File.Delete(state.ControllerPid);
        if (pid is null)
        {
            return false;
        }

        await Signals.SendAsync(pid.Value, "TERM");
        for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(100);
        }

        if (Directory.Exists($"/proc/{pid}"))
        {
            await Signals.SendAsync(pid.Value, "KILL");
        }

        return true;
    }
}
