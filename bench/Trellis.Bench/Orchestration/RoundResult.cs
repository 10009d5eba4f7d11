using Trellis.Bench.Load;
using Trellis.Bench.Setups;

namespace Trellis.Bench.Orchestration;

/// <summary>What one start of one setup for one protocol measured in one round (or why it failed).</summary>
internal sealed class RoundResult
{
    public required string Setup { get; init; }

    public required BenchProtocol Protocol { get; init; }

    public required int Round { get; init; }

    public string? Error { get; set; }

    /// <summary>Fixed-rate phases by target rate.</summary>
    public Dictionary<int, PhaseResult> Phases { get; } = [];

    public SaturationResult? Saturation { get; set; }

    /// <summary>Per proxy process: name, peak and idle RSS kB, peak and idle anonymous kB.</summary>
    public List<ProxyMemory> Proxies { get; } = [];

    /// <summary>All proxies' CPU seconds per 10,000 requests in the 1,000 req/s phase (null without proxies).</summary>
    public double? CpuSecondsPer10k { get; set; }

    public bool Ok => Error is null;
}

/// <summary>
/// Memory of one proxy process over one setup start: the peaks over the whole start, and idle
/// (ready, one second before any traffic).
/// </summary>
internal sealed record ProxyMemory(string Name, long PeakRssKb, long PeakAnonKb, long IdleRssKb, long IdleAnonKb);
