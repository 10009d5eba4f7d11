namespace Trellis.Cli.Hosts;

/// <summary>
/// Finds a pod's namespace on this host without the controller, from the names `trellis run`
/// gives them: `trellis exec` must keep working while the controller is down, which is exactly
/// when one wants to look inside a pod.
/// </summary>
internal static class LocalPods
{
    /// <summary>The netns of pod <paramref name="name"/>, else of a pod of workload <paramref name="name"/>; null when none exists.</summary>
    public static async Task<string?> FindNetnsAsync(string ns, string name)
    {
        var (_, list, _) = await Shell.TryRunAsync("ip", "netns", "list");
        var names = list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)[0]).ToList();
        return Match(names, ns, name);
    }

    /// <summary>
    /// Exact pod name first; otherwise WORKLOAD-xxxxx, where the suffix is the five characters
    /// <see cref="PodNames.NewPodName"/> adds (so workload "web" never matches "web-api-xxxxx").
    /// </summary>
    internal static string? Match(IEnumerable<string> netnsNames, string ns, string name)
    {
        var all = netnsNames.ToList();
        var exact = PodNames.Netns(ns, name);
        if (all.Contains(exact, StringComparer.Ordinal))
        {
            return exact;
        }

        var prefix = exact + "-";
        return all.Where(n => n.Length == prefix.Length + 5 && n.StartsWith(prefix, StringComparison.Ordinal) && !n.AsSpan(prefix.Length).Contains('-'))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
