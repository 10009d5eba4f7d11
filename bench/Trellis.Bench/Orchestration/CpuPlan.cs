namespace Trellis.Bench.Orchestration;

/// <summary>
/// Where processes run. Pinned (the default on two or more cores, as DESIGN.md's figures were taken):
/// every proxy on one core, the load generator, origin, wrk and h2load on another, so the comparison
/// is per proxy core. Unpinned on a one-core box or with --no-pin.
/// </summary>
internal sealed record CpuPlan(bool Pin, int LoadCpu, int ProxyCpu)
{
    public static CpuPlan Create(bool requested) =>
        requested && Environment.ProcessorCount >= 2 ? new CpuPlan(true, 0, 1) : new CpuPlan(false, 0, 0);

    /// <summary>Wraps a command with `taskset -c CPU` (which execs it: the pid stays the program's).</summary>
    public (string File, IReadOnlyList<string> Args) Wrap(string file, IReadOnlyList<string> args, bool proxy)
    {
        if (!Pin)
        {
            return (file, args);
        }
        var wrapped = new List<string>(args.Count + 3) { "-c", (proxy ? ProxyCpu : LoadCpu).ToString(), file };
        wrapped.AddRange(args);
        return ("taskset", wrapped);
    }

    /// <summary>Pins the harness itself (the load generator) to the load core.</summary>
    public void PinSelf()
    {
        if (Pin && OperatingSystem.IsLinux())
        {
            System.Diagnostics.Process.GetCurrentProcess().ProcessorAffinity = (nint)(1L << LoadCpu);
        }
    }

    public string Describe() => Pin ? $"proxies on CPU {ProxyCpu}; load generator, origin, wrk, h2load on CPU {LoadCpu}" : "not pinned";
}
