using System.Text;

namespace Trellis.Bench.Reporting;

/// <summary>report.md, and the summary table printed at the end of a run.</summary>
internal static class MarkdownReport
{
    public static string Summary(IReadOnlyList<SetupSummary> summaries, double quietSeconds)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| setup | p50 | p90 | p99 | p99.9 | max | added p99 | max req/s (spread) | vs haproxy | sat p99 | vs haproxy | gRPC p99 | gRPC max req/s | vs haproxy | gRPC sat p99 | vs haproxy | peak RSS MB (anon) | idle RSS MB (anon) | quiet RSS MB (anon) | CPU s/10k |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in summaries)
        {
            if (s.Status == "failed")
            {
                sb.AppendLine($"| {s.Label} | failed: see below | | | | | | | | | | | | | | | | | | |");
                continue;
            }
            sb.Append($"| {s.Label} ");
            foreach (var key in new[] { "p50_ms_1000", "p90_ms_1000", "p99_ms_1000", "p999_ms_1000", "max_ms_1000", "added_p99_ms_1000" })
            {
                sb.Append($"| {Ms(s.Get(key))} ");
            }
            sb.Append($"| {Rps(s, "max_rps")} | {Ratio(s.Get("max_rps_vs_haproxy"))} ");
            sb.Append($"| {Ms(s.Get("sat_p99_ms"))} | {Ratio(s.Get("sat_p99_ms_vs_haproxy"))} ");
            sb.Append($"| {Ms(s.Get("grpc_p99_ms_1000"))} | {Rps(s, "max_rps_grpc")} | {Ratio(s.Get("max_rps_grpc_vs_haproxy"))} ");
            sb.Append($"| {Ms(s.Get("grpc_sat_p99_ms"))} | {Ratio(s.Get("grpc_sat_p99_ms_vs_haproxy"))} ");
            sb.Append($"| {Memory(s.Get("proxy_rss_peak_kb"), s.Get("proxy_anon_peak_kb"))} | {Memory(s.Get("proxy_idle_rss_kb"), s.Get("proxy_idle_anon_kb"))} ");
            sb.Append($"| {Memory(s.Get("proxy_quiet_rss_kb"), s.Get("proxy_quiet_anon_kb"))} ");
            sb.AppendLine($"| {Number(s.Get("cpu_s_per_10k"), "0.000")} |");
        }
        sb.AppendLine();
        sb.AppendLine("Latency in ms for HTTP/1.1 at 1,000 req/s (open loop, coordinated omission corrected), medians across rounds; added = over `direct`; max req/s = closed-loop saturation (wrk for HTTP/1.1, h2load for gRPC), median (min–max); sat p99 = p99 in ms during that saturation (wrk's distribution over all its responses; h2load's 2xx requests); peak RSS / anonymous memory of the largest proxy process over the whole start; idle = the same, ready and before any traffic; " + Quiet(quietSeconds) + "; CPU = all proxies' user+system seconds per 10,000 requests at 1,000 req/s.");
        return sb.ToString();
    }

    public static void Write(string path, RunInfo run, IReadOnlyList<SetupSummary> summaries, IReadOnlyList<int> rates)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Trellis proxy benchmark");
        sb.AppendLine();
        sb.AppendLine($"Run {run.Started:yyyy-MM-dd HH:mm} UTC, mode `{run.Mode}`, {(run.Hops == 1 ? "one plaintext HTTP hop (client -> proxy -> origin)" : "meshed topology (client -> proxy -> mutual TLS -> proxy -> origin)")}, {run.Rounds} interleaved round(s), {run.PhaseSeconds:0.#} s per fixed-rate phase, {run.SaturationSeconds:0.#} s saturation. Pinning: {run.Pinning}. Machine: {run.Machine}.");
        sb.AppendLine();
        sb.AppendLine("![latency by percentile](latency.png)");
        sb.AppendLine();
        sb.AppendLine("## Summary");
        sb.AppendLine();
        sb.Append(Summary(summaries, run.QuietSeconds));
        sb.AppendLine();
        sb.AppendLine("## Latency by rate (p50 / p99 / p99.9 ms, added p99 over direct)");
        sb.AppendLine();
        sb.Append("| setup | protocol |");
        foreach (var r in rates)
        {
            sb.Append($" {r} req/s | added p99 @{r} |");
        }
        sb.AppendLine();
        sb.Append("|---|---|");
        foreach (var _ in rates)
        {
            sb.Append("---|---|");
        }
        sb.AppendLine();
        foreach (var s in summaries.Where(s => s.Status != "failed"))
        {
            foreach (var (prefix, protocol) in new[] { ("", "HTTP/1.1"), ("grpc_", "gRPC") })
            {
                sb.Append($"| {s.Label} | {protocol} |");
                foreach (var r in rates)
                {
                    sb.Append($" {Ms(s.Get($"{prefix}p50_ms_{r}"))} / {Ms(s.Get($"{prefix}p99_ms_{r}"))} / {Ms(s.Get($"{prefix}p999_ms_{r}"))}{Errors(s.Get($"{prefix}errors_{r}"))} | {Ms(s.Get($"{prefix}added_p99_ms_{r}"))} |");
                }
                sb.AppendLine();
            }
        }
        sb.AppendLine();
        Budget(sb, summaries, run);
        var problems = summaries.Where(s => s.Error is not null || s.QuietError is not null).ToList();
        if (problems.Count > 0)
        {
            sb.AppendLine("## Failed or partial setups");
            sb.AppendLine();
            foreach (var s in problems)
            {
                if (s.Error is not null)
                {
                    sb.AppendLine($"- **{s.Label}** ({s.Status}): {OneLine(s.Error)}");
                }
                if (s.QuietError is not null)
                {
                    sb.AppendLine($"- **{s.Label}** (quiet pass): {OneLine(s.QuietError)}");
                }
            }
            sb.AppendLine();
        }
        sb.AppendLine("## Proxy processes (highest peak in any round)");
        sb.AppendLine();
        sb.AppendLine("| setup | process | peak RSS MB | peak anonymous MB | idle RSS MB | idle anonymous MB | quiet RSS MB | quiet anonymous MB |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var s in summaries)
        {
            foreach (var (name, rss, anon, idleRss, idleAnon) in s.Proxies)
            {
                var quiet = s.QuietProxies.Find(q => q.Name == name);
                sb.AppendLine($"| {s.Label} | {name} | {rss / 1024.0:0.0} | {anon / 1024.0:0.0} | {idleRss / 1024.0:0.0} | {idleAnon / 1024.0:0.0} | {Memory(quiet?.RssKb, null)} | {Memory(quiet?.AnonKb, null)} |");
            }
        }
        sb.AppendLine();
        sb.AppendLine("Spreads (min–max across rounds) for every figure are in latest.json under `spread`; raw per-round data is in bench/results/runs/.");
        File.WriteAllText(path, sb.ToString());
    }

    private static void Budget(StringBuilder sb, IReadOnlyList<SetupSummary> summaries, RunInfo run)
    {
        var trellis = summaries.FirstOrDefault(s => s.Name == "trellis");
        if (trellis is null)
        {
            return;
        }
        sb.AppendLine("## The proxy's budget");
        sb.AppendLine();
        if (trellis.Status == "failed")
        {
            sb.AppendLine("Not measured: the trellis setup failed (see below).");
            sb.AppendLine();
            return;
        }
        foreach (var line in BudgetReport.Lines(trellis, run.Hops, run.QuietSeconds))
        {
            sb.AppendLine("- " + line);
        }
        sb.AppendLine();
    }

    private static string Ms(double? v) => v is null ? "–" : v.Value.ToString("0.000");

    private static string Number(double? v, string format) => v is null ? "–" : v.Value.ToString(format);

    private static string Ratio(double? v) => v is null ? "–" : v.Value.ToString("0.00") + "x";

    /// <summary>RSS MB with the anonymous MB in brackets; without an anonymous figure, the RSS alone.</summary>
    private static string Memory(double? rssKb, double? anonKb) => rssKb is null ? "–" : anonKb is null ? $"{rssKb / 1024:0.0}" : $"{rssKb / 1024:0.0} ({anonKb / 1024:0.0})";

    private static string Quiet(double seconds) => seconds > 0
        ? $"quiet = the same, started afresh, after {Orchestration.BenchOptions.QuietTrafficDuration.TotalSeconds:0} s of saturating HTTP/1.1 and then {seconds:0} s without traffic"
        : "quiet = not measured (the run had no quiet period)";

    private static string OneLine(string text) => text.Replace("\n", " ", StringComparison.Ordinal);

    private static string Errors(double? v) => v is null or 0 ? "" : $" ({v:0} errors)";

    private static string Rps(SetupSummary s, string key)
    {
        var v = s.Get(key);
        if (v is null)
        {
            return "–";
        }
        return s.Spread.TryGetValue(key, out var spread) ? $"{v:0} ({spread.Min:0}–{spread.Max:0})" : $"{v:0}";
    }
}
