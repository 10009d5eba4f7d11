using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Setups;

namespace Trellis.Bench.Reporting;

/// <summary>Turns per-round results into per-setup medians and spreads, latency added over `direct`, and ratios to `haproxy`.</summary>
internal static class Aggregator
{
    private static readonly (string Key, double Percentile)[] LatencyKeys =
        [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100)];

    public static List<SetupSummary> Summarize(IReadOnlyList<string> setups, IReadOnlyDictionary<string, string> labels, IReadOnlyList<RoundResult> results, IReadOnlyList<int> rates, IReadOnlyList<QuietResult>? quiet = null)
    {
        var summaries = new List<SetupSummary>();
        foreach (var name in setups)
        {
            var summary = SummarizeOne(name, labels.TryGetValue(name, out var l) ? l : name, results.Where(r => r.Setup == name).ToList(), rates);
            Quiet(summary, quiet?.FirstOrDefault(q => q.Setup == name));
            summaries.Add(summary);
        }
        var direct = summaries.Find(s => s.Name == "direct" && s.Status != "failed");
        var haproxy = summaries.Find(s => s.Name == "haproxy" && s.Status != "failed");
        foreach (var s in summaries)
        {
            foreach (var prefix in new[] { "", "grpc_" })
            {
                foreach (var rate in rates)
                {
                    foreach (var p in new[] { "p50", "p99", "p999" })
                    {
                        var key = $"{prefix}{p}_ms_{rate}";
                        s.Values[$"{prefix}added_{p}_ms_{rate}"] = Difference(s.Get(key), direct?.Get(key));
                    }
                }
            }
            foreach (var key in new[] { "max_rps", "max_rps_grpc", "p99_ms_1000", "sat_p99_ms", "grpc_sat_p99_ms", "proxy_rss_peak_kb", "proxy_anon_peak_kb", "proxy_idle_rss_kb", "proxy_quiet_rss_kb", "cpu_s_per_10k" })
            {
                s.Values[$"{key}_vs_haproxy"] = Ratio(s.Get(key), haproxy?.Get(key));
            }
        }
        return summaries;
    }

    private static SetupSummary SummarizeOne(string name, string label, List<RoundResult> rounds, IReadOnlyList<int> rates)
    {
        var ok = rounds.Where(r => r.Ok).ToList();
        var http1 = ok.Where(r => r.Protocol == BenchProtocol.Http1).ToList();
        var grpc = ok.Where(r => r.Protocol == BenchProtocol.Grpc).ToList();
        var firstError = rounds.FirstOrDefault(r => !r.Ok);
        var status = http1.Count == 0 ? "failed" : firstError is null ? "ok" : "partial";
        var summary = new SetupSummary
        {
            Name = name,
            Label = label,
            Status = status,
            Error = firstError is null ? null : $"{firstError.Protocol} round {firstError.Round}: {firstError.Error}",
            RoundsOk = http1.Count,
        };
        Latency(summary, "", http1, rates);
        Latency(summary, "grpc_", grpc, rates);
        Put(summary, "max_rps", http1.Where(r => r.Saturation is not null).Select(r => r.Saturation!.RequestsPerSecond));
        Put(summary, "max_rps_grpc", grpc.Where(r => r.Saturation is not null).Select(r => r.Saturation!.RequestsPerSecond));
        UnderSaturation(summary, "", http1);
        UnderSaturation(summary, "grpc_", grpc);
        Put(summary, "cpu_s_per_10k", http1.Where(r => r.CpuSecondsPer10k is not null).Select(r => r.CpuSecondsPer10k!.Value));
        Put(summary, "cpu_s_per_10k_grpc", grpc.Where(r => r.CpuSecondsPer10k is not null).Select(r => r.CpuSecondsPer10k!.Value));
        var perRound = ok.Where(r => r.Proxies.Count > 0).GroupBy(r => r.Round).ToList();
        Put(summary, "proxy_rss_peak_kb", perRound.Select(g => (double)g.SelectMany(r => r.Proxies).Max(p => p.PeakRssKb)));
        Put(summary, "proxy_anon_peak_kb", perRound.Select(g => (double)g.SelectMany(r => r.Proxies).Max(p => p.PeakAnonKb)));
        Put(summary, "proxy_idle_rss_kb", perRound.Select(g => (double)g.SelectMany(r => r.Proxies).Max(p => p.IdleRssKb)));
        Put(summary, "proxy_idle_anon_kb", perRound.Select(g => (double)g.SelectMany(r => r.Proxies).Max(p => p.IdleAnonKb)));
        foreach (var group in ok.SelectMany(r => r.Proxies).GroupBy(p => p.Name))
        {
            summary.Proxies.Add((group.Key, group.Max(p => p.PeakRssKb), group.Max(p => p.PeakAnonKb), group.Max(p => p.IdleRssKb), group.Max(p => p.IdleAnonKb)));
        }
        Curve(summary, "HTTP/1.1", http1);
        Curve(summary, "gRPC", grpc);
        return summary;
    }

    /// <summary>
    /// `proxy_quiet_rss_kb` / `proxy_quiet_anon_kb`: the largest proxy process once quiet (one
    /// measurement, no spread); null for a setup without proxies, or when the run had no quiet pass.
    /// </summary>
    private static void Quiet(SetupSummary summary, QuietResult? quiet)
    {
        var proxies = quiet?.Proxies ?? [];
        summary.QuietError = quiet?.Error;
        summary.QuietProxies.AddRange(proxies);
        summary.Values["proxy_quiet_rss_kb"] = proxies.Count == 0 ? null : proxies.Max(p => p.RssKb);
        summary.Values["proxy_quiet_anon_kb"] = proxies.Count == 0 ? null : proxies.Max(p => p.AnonKb);
    }

    private static void Latency(SetupSummary summary, string prefix, List<RoundResult> rounds, IReadOnlyList<int> rates)
    {
        foreach (var rate in rates)
        {
            var phases = rounds.Where(r => r.Phases.ContainsKey(rate)).Select(r => r.Phases[rate]).ToList();
            foreach (var (key, percentile) in LatencyKeys)
            {
                Put(summary, $"{prefix}{key}_ms_{rate}", phases.Select(p => p.At(percentile)).Where(v => !double.IsNaN(v)));
            }
            Put(summary, $"{prefix}achieved_rps_{rate}", phases.Select(p => p.AchievedRps));
            summary.Values[$"{prefix}errors_{rate}"] = phases.Count == 0 ? null : phases.Sum(p => p.Errors);
        }
    }

    /// <summary>Latency the saturation tool saw (wrk's own distribution, h2load's per-request log): `sat_p50_ms` ... `grpc_sat_p99_ms`.</summary>
    private static void UnderSaturation(SetupSummary summary, string prefix, List<RoundResult> rounds)
    {
        var latencies = rounds.Select(r => r.Saturation?.Latency).OfType<SaturationLatency>().ToList();
        Put(summary, $"{prefix}sat_p50_ms", latencies.Select(l => l.P50Ms));
        Put(summary, $"{prefix}sat_p90_ms", latencies.Select(l => l.P90Ms));
        Put(summary, $"{prefix}sat_p99_ms", latencies.Select(l => l.P99Ms));
    }

    private static void Curve(SetupSummary summary, string protocol, List<RoundResult> rounds)
    {
        var phases = rounds.Where(r => r.Phases.ContainsKey(1000)).Select(r => r.Phases[1000]).Where(p => p.Requests > 0).ToList();
        if (phases.Count == 0)
        {
            return;
        }
        var curve = new double[PhaseResult.Percentiles.Length];
        for (var i = 0; i < curve.Length; i++)
        {
            curve[i] = Median(phases.Select(p => p.LatencyMsByPercentile[i]).ToList());
        }
        summary.Curves[protocol] = curve;
    }

    private static void Put(SetupSummary summary, string key, IEnumerable<double> values)
    {
        var list = values.ToList();
        if (list.Count == 0)
        {
            summary.Values[key] = null;
            return;
        }
        summary.Values[key] = Median(list);
        summary.Spread[key] = (list.Min(), list.Max());
    }

    internal static double Median(List<double> values)
    {
        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static double? Difference(double? value, double? baseline) => value is null || baseline is null ? null : value - baseline;

    private static double? Ratio(double? value, double? baseline) => value is null || baseline is null || baseline == 0 ? null : value / baseline;
}
