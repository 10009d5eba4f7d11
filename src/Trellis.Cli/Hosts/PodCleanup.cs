namespace Trellis.Cli.Hosts;

/// <summary>
/// Removes pods: kills every process still in the namespace (deleting a netns does not stop
/// them), deletes the namespace (which deletes its veth pair and its iptables rules), the host
/// veth if it survived, and the pod's /etc/netns and runtime directories.
/// </summary>
internal static class PodCleanup
{
    public static async Task RemoveAsync(string netns)
    {
        var (code, pids, _) = await Shell.TryRunAsync("ip", "netns", "pids", netns);
        if (code == 0)
        {
            foreach (var line in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(line, out var pid))
                {
                    Signals.Send(pid, Signals.SigKill);
                }
            }

            await Shell.TryRunAsync("ip", "netns", "del", netns);
        }

        await Shell.TryRunAsync("ip", "link", "del", PodNames.HostVeth(netns));
        DeleteDirectory(PodNames.EtcDirectory(netns));
        DeleteDirectory(PodNames.RuntimeDirectory(netns));
    }

    /// <summary>Removes every trellis pod namespace and leftover; returns how many namespaces there were.</summary>
    public static async Task<int> RemoveAllAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var (_, list, _) = await Shell.TryRunAsync("ip", "netns", "list");
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ', 2)[0];
            if (name.StartsWith(PodNames.NetnsPrefix, StringComparison.Ordinal))
            {
                names.Add(name);
            }
        }

        foreach (var directory in new[] { "/etc/netns", PodNames.RuntimeRoot })
        {
            if (Directory.Exists(directory))
            {
                foreach (var path in Directory.GetDirectories(directory, PodNames.NetnsPrefix + "*"))
                {
                    names.Add(Path.GetFileName(path));
                }
            }
        }

        foreach (var name in names)
        {
            await RemoveAsync(name);
        }

        // Host veths whose namespace vanished some other way.
        var (_, links, _) = await Shell.TryRunAsync("ip", "-o", "link", "show", "type", "veth");
        foreach (var line in links.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            var name = parts.Length > 1 ? parts[1].Trim().Split('@')[0] : string.Empty;
            if (name.Length == 12 && name.StartsWith(PodNames.VethPrefix, StringComparison.Ordinal))
            {
                await Shell.TryRunAsync("ip", "link", "del", name);
            }
        }

        return names.Count;
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException) when (!Directory.Exists(path))
        {
            // Already gone: `trellis down` and a pod's own `trellis run` may clean up the same pod at once.
        }
    }
}
