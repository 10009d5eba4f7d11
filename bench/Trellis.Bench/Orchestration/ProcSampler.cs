using System.Globalization;

namespace Trellis.Bench.Orchestration;

/// <summary>
/// Samples proxies' memory from /proc/PID/status every 100 ms while a setup runs: VmHWM (the kernel's
/// own peak RSS) and RssAnon (anonymous memory), keeping the peak of each. CPU time is read on demand
/// from /proc/PID/stat (utime + stime), and current (not peak) memory on demand for the idle figure.
/// status, not smaps_rollup: smaps_rollup walks the process's page tables under its memory-map lock,
/// and at 100 ms that walk put latency stalls into every proxied setup (slow requests clustered at the
/// same offset in each 100 ms, and only in setups with a process to sample; `direct` has none).
/// status reads the kernel's counters, and RssAnon equals smaps_rollup's Anonymous.
/// </summary>
internal sealed class ProcSampler : IAsyncDisposable
{
    // USER_HZ is 100 on every Linux architecture .NET runs on.
    private const double ClockTicksPerSecond = 100.0;
    private readonly IReadOnlyList<ManagedProcess> _processes;
    private readonly long[] _peakRssKb;
    private readonly long[] _peakAnonKb;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ProcSampler(IReadOnlyList<ManagedProcess> processes)
    {
        _processes = processes;
        _peakRssKb = new long[processes.Count];
        _peakAnonKb = new long[processes.Count];
        _loop = LoopAsync();
    }

    /// <summary>Per process: (name, peak RSS kB, peak anonymous kB).</summary>
    public IReadOnlyList<(string Name, long PeakRssKb, long PeakAnonKb)> Peaks()
    {
        SampleOnce();
        var list = new List<(string, long, long)>(_processes.Count);
        lock (_peakRssKb)
        {
            for (var i = 0; i < _processes.Count; i++)
            {
                list.Add((_processes[i].Name, _peakRssKb[i], _peakAnonKb[i]));
            }
        }
        return list;
    }

    /// <summary>Per process: (name, VmRSS kB, anonymous kB) right now.</summary>
    public IReadOnlyList<(string Name, long RssKb, long AnonKb)> Current()
    {
        var list = new List<(string, long, long)>(_processes.Count);
        foreach (var p in _processes)
        {
            var status = ReadStatus(p.Pid);
            list.Add((p.Name, status.RssKb, status.AnonKb));
        }
        return list;
    }

    /// <summary>CPU seconds (user + system) all sampled processes have used so far.</summary>
    public double CpuSeconds()
    {
        long ticks = 0;
        foreach (var p in _processes)
        {
            ticks += ReadCpuTicks(p.Pid);
        }
        return ticks / ClockTicksPerSecond;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        _stop.Dispose();
    }

    internal static long ReadCpuTicks(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return 0;
        }
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15 overall.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>VmHWM, VmRSS and RssAnon from one read of /proc/PID/status; zeros once the process has exited.</summary>
    internal static (long PeakRssKb, long RssKb, long AnonKb) ReadStatus(int pid)
    {
        try
        {
            return ParseStatus(File.ReadAllText($"/proc/{pid}/status"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited between samples, or is not ours to read.
            return default;
        }
    }

    /// <summary>Parses the "Key:   1234 kB" lines of a /proc/PID/status text; a missing key reads as 0.</summary>
    internal static (long PeakRssKb, long RssKb, long AnonKb) ParseStatus(string status)
    {
        long peak = 0, rss = 0, anon = 0;
        foreach (var line in status.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var key = line[..colon];
            if (key is not ("VmHWM" or "VmRSS" or "RssAnon"))
            {
                continue;
            }
            var value = line.AsSpan(colon + 1).Trim();
            var space = value.IndexOf(' ');
            var kb = long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture);
            (peak, rss, anon) = key switch
            {
                "VmHWM" => (kb, rss, anon),
                "VmRSS" => (peak, kb, anon),
                _ => (peak, rss, kb),
            };
        }
        return (peak, rss, anon);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            SampleOnce();
        }
    }

    private void SampleOnce()
    {
        for (var i = 0; i < _processes.Count; i++)
        {
            var pid = _processes[i].Pid;
            var status = ReadStatus(pid);
            lock (_peakRssKb)
            {
                _peakRssKb[i] = Math.Max(_peakRssKb[i], Math.Max(status.PeakRssKb, status.RssKb));
                _peakAnonKb[i] = Math.Max(_peakAnonKb[i], status.AnonKb);
            }
        }
    }
}
