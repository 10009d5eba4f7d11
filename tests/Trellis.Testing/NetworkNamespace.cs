using System.Diagnostics;

namespace Trellis.Testing;

/// <summary>
/// A network namespace made for one test, with only loopback up: no route leaves it. It is
/// deleted on dispose, with every process still running inside, also when the test fails.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    public static async Task<NetworkNamespace> CreateAsync()
    {
        var name = "trellis-it-" + Guid.NewGuid().ToString("N")[..8];
        await RunAsync("ip", "netns", "add", name);
        var ns = new NetworkNamespace(name);
        try
        {
            await RunAsync("ip", "-n", name, "link", "set", "lo", "up");
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }

        return ns;
    }

    /// <summary>Runs a command inside the namespace to completion and returns its stdout.</summary>
    public Task<string> ExecAsync(params string[] command) => RunAsync(["ip", "netns", "exec", Name, .. command]);

    /// <summary>Starts a long-running command inside the namespace; it is killed with the namespace.</summary>
    public Process Start(params string[] command)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "netns", "exec", Name }.Concat(command))
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var pids = await RunAsync("ip", "netns", "pids", Name);
            foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await RunAsync("kill", "-9", pid).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }
        finally
        {
            await RunAsync("ip", "netns", "del", Name);
        }
    }

    /// <summary>Runs a program, failing with its stderr when it exits non-zero; bounded by a timeout.</summary>
    public static async Task<string> RunAsync(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{string.Join(' ', command)}` exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}
