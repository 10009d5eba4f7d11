namespace Trellis.Bench.Reporting;

/// <summary>
/// One setup's figures over all rounds: each value is the median across rounds, with its min–max
/// spread kept beside it. Keys are latest.json's (e.g. `p99_ms_1000`, `grpc_p99_ms_1000`, `max_rps`).
/// </summary>
internal sealed class SetupSummary
{
    public required string Name { get; init; }

    public required string Label { get; init; }

    /// <summary>"ok", "partial" (some protocol or round failed) or "failed".</summary>
    public required string Status { get; init; }

    public string? Error { get; init; }

    public int RoundsOk { get; init; }

    public Dictionary<string, double?> Values { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, (double Min, double Max)> Spread { get; } = new(StringComparer.Ordinal);

    /// <summary>Per proxy process name: the highest peak and idle RSS and anonymous kB seen in any round.</summary>
    public List<(string Name, long RssKb, long AnonKb, long IdleRssKb, long IdleAnonKb)> Proxies { get; } = [];

    /// <summary>Per proxy process: RSS and anonymous kB once quiet after traffic (the quiet pass; empty without one).</summary>
    public List<Orchestration.ProxyQuietMemory> QuietProxies { get; } = [];

    /// <summary>Why the quiet pass measured nothing for this setup, when it failed.</summary>
    public string? QuietError { get; set; }

    /// <summary>Latency (ms) at each of PhaseResult.Percentiles at 1,000 req/s, medians across rounds, by protocol label.</summary>
    public Dictionary<string, double[]> Curves { get; } = new(StringComparer.Ordinal);

    public double? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;
}
