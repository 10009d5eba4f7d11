using System.Diagnostics;
using Trellis.Cli.Commands;

namespace Trellis.Cli.Hosts;

/// <summary>
/// Runs the system's network tools (ip, iptables). Shelling out is deliberate: these are the
/// tools an operator reads and re-runs by hand, and they speak netlink and nf_tables correctly.
/// </summary>
internal static class Shell
{
    /// <summary>Runs a command; throws with its stderr when it fails.</summary>
    public static async Task<string> RunAsync(string file, params string[] args)
    {
        var (code, stdout, stderr) = await TryRunAsync(file, args);
        if (code != 0)
        {
            throw new CliException($"`{file} {string.Join(' ', args)}` failed ({code}): {stderr.Trim()}");
        }

        return stdout;
    }

    /// <summary>Runs a command and returns its exit code and output, never throwing for a non-zero exit.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> TryRunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new CliException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
