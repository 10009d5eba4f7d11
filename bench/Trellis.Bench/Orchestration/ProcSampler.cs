using System.Globalization;

namespace Trellis.Bench.Orchestration;

/// <summary>
/// Samples proxies' memory from /proc while a setup runs: VmHWM (the kernel's own peak RSS) from
/// /proc/PID/status, and anonymous (private) memory from /proc/PID/smaps_rollup every 100 ms, keeping
/// the peak of each. CPU time is read on demand from /proc/PID/stat (utime + stime), and current
/// (not peak) memory on demand for the idle figure.
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
            list.Add((p.Name, ReadKb($"/proc/{p.Pid}/status", "VmRSS"), ReadKb($"/proc/{p.Pid}/smaps_rollup", "Anonymous")));
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

    /// <summary>Reads a "Key:   1234 kB" line from a /proc file; 0 when absent.</summary>
    internal static long ReadKb(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ':')
                {
                    var parts = line[(key.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process exited between samples.
        }
        catch (UnauthorizedAccessException)
        {
            // Not ours to read.
        }
        return 0;
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
            var hwm = Math.Max(ReadKb($"/proc/{pid}/status", "VmHWM"), ReadKb($"/proc/{pid}/status", "VmRSS"));
            var anon = ReadKb($"/proc/{pid}/smaps_rollup", "Anonymous");
            lock (_peakRssKb)
            {
                _peakRssKb[i] = Math.Max(_peakRssKb[i], hwm);
                _peakAnonKb[i] = Math.Max(_peakAnonKb[i], anon);
            }
        }
    }
}
