using System.Runtime.InteropServices;

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

    /// <summary>
    /// Pins the harness itself (the load generator) to the load core: every thread it already has,
    /// because on Linux an affinity belongs to a thread, not a process. Process.ProcessorAffinity
    /// sets only the main thread's, which left the runtime's pool, timer and socket threads free to
    /// run the load generator on the proxies' core. Threads started later inherit their creator's.
    /// </summary>
    public void PinSelf()
    {
        if (!Pin || !OperatingSystem.IsLinux())
        {
            return;
        }
        var mask = 1UL << LoadCpu;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (int.TryParse(Path.GetFileName(task), out var tid) && SchedSetAffinity(tid, sizeof(ulong), ref mask) != 0)
            {
                // A thread that ended meanwhile (ESRCH) is no concern; anything else leaves the run unpinned.
                var errno = Marshal.GetLastPInvokeError();
                if (errno != 3)
                {
                    throw new InvalidOperationException($"cannot pin thread {tid} to CPU {LoadCpu}: errno {errno}");
                }
            }
        }
        if (UnpinnedThreads(LoadCpu) is var left and > 0)
        {
            throw new InvalidOperationException($"{left} harness thread(s) still run outside CPU {LoadCpu} after pinning");
        }
    }

    /// <summary>Threads of this process allowed on a CPU other than <paramref name="cpu"/>.</summary>
    internal static int UnpinnedThreads(int cpu)
    {
        var expected = "Cpus_allowed_list:\t" + cpu.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var unpinned = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var line = File.ReadLines(Path.Combine(task, "status")).FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
                if (line is not null && line != expected)
                {
                    unpinned++;
                }
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }
        return unpinned;
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int tid, nint size, ref ulong mask);

    public string Describe() => Pin ? $"proxies on CPU {ProxyCpu}; load generator, origin, wrk, h2load on CPU {LoadCpu}" : "not pinned";
}
