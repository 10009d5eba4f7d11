using System.Globalization;

namespace Trellis.Cli.Hosts;

/// <summary>
/// Whether the app listens on all its service ports, read from /proc/PID/net/tcp{,6}: those files
/// show the sockets of the process's network namespace, so no probe has to enter the pod.
/// </summary>
internal static class Readiness
{
    private const string Listen = "0A";

    public static bool IsListening(int pid, IReadOnlyCollection<int> ports)
    {
        if (ports.Count == 0)
        {
            return true;
        }

        var listening = new HashSet<int>();
        foreach (var file in new[] { "tcp", "tcp6" })
        {
            try
            {
                listening.UnionWith(ListeningPorts(File.ReadAllText($"/proc/{pid}/net/{file}")));
            }
            catch (IOException)
            {
                return false;
            }
        }

        return ports.All(listening.Contains);
    }

    /// <summary>Ports in LISTEN state in a /proc/net/tcp text.</summary>
    internal static HashSet<int> ListeningPorts(string procNetTcp)
    {
        var ports = new HashSet<int>();
        foreach (var line in procNetTcp.Split('\n').Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 3 && fields[3] == Listen)
            {
                var colon = fields[1].LastIndexOf(':');
                if (colon > 0 && int.TryParse(fields[1].AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port))
                {
                    ports.Add(port);
                }
            }
        }

        return ports;
    }
}
