using System.Globalization;
using System.Runtime.InteropServices;

namespace Trellis.Cli.Hosts;

/// <summary>Sends POSIX signals by number (Process.Kill only sends SIGKILL).</summary>
internal static partial class Signals
{
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigQuit = 3;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Sends a named signal, for callers that think in names.</summary>
    public static Task SendAsync(int pid, string name)
    {
        Send(pid, name switch
        {
            "TERM" => SigTerm,
            "KILL" => SigKill,
            "INT" => SigInt,
            _ => int.Parse(name, CultureInfo.InvariantCulture),
        });
        return Task.CompletedTask;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
