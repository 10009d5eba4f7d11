using System.Globalization;
using Trellis.Cli.Commands;

namespace Trellis.Cli.Hosts;

/// <summary>Hosts mode needs CAP_NET_ADMIN (namespaces, links, iptables); root has it.</summary>
internal static class Privileges
{
    private const int CapNetAdmin = 12;

    /// <summary>Throws a <see cref="CliException"/> with exit code 2 unless this process may administer networks.</summary>
    public static void RequireNetAdmin(string command)
    {
        if (!HasNetAdmin(File.ReadAllText("/proc/self/status")))
        {
            throw new CliException(
                $"`trellis {command}` needs root or CAP_NET_ADMIN: it creates network namespaces, a bridge and iptables rules. Run it with sudo.",
                exitCode: 2);
        }
    }

    /// <summary>True when the effective capability set in a /proc/PID/status text has CAP_NET_ADMIN.</summary>
    public static bool HasNetAdmin(string procStatus)
    {
        foreach (var line in procStatus.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps))
            {
                return (caps & (1UL << CapNetAdmin)) != 0;
            }
        }

        return false;
    }
}
