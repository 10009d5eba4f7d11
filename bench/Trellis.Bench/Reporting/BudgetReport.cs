namespace Trellis.Bench.Reporting;

/// <summary>
/// The proxy's budget, one line per requirement with trellis's measured figure and whether it is
/// met. The budget sets gRPC throughput and the added latency at 1,000 req/s for the meshed topology
/// only, so a one-hop run shows those figures without a verdict; the other lines hold in either
/// topology and say which one was measured.
/// </summary>
internal static class BudgetReport
{
    private const string OneHopOnly = "measured one hop, the line is for the meshed topology: no verdict";

    /// <param name="quietSeconds">The run's quiet period; the idle line then also holds the figure once quiet after traffic.</param>
    public static IReadOnlyList<string> Lines(SetupSummary trellis, int hops, double quietSeconds = 0)
    {
        var meshed = hops != 1;
        var topology = meshed ? "meshed" : "one plaintext hop";
        var rps = trellis.Get("max_rps_vs_haproxy");
        var grpcRps = trellis.Get("max_rps_grpc_vs_haproxy");
        var added = trellis.Get("added_p99_ms_1000");
        var sat = trellis.Get("sat_p99_ms_vs_haproxy");
        var grpcSat = trellis.Get("grpc_sat_p99_ms_vs_haproxy");
        var peak = trellis.Get("proxy_rss_peak_kb");
        var idle = trellis.Get("proxy_idle_rss_kb");
        var quiet = trellis.Get("proxy_quiet_rss_kb");
        return
        [
            $"max throughput, HTTP/1.1 ({topology}), at least 0.8x HAProxy's: {Ratio(rps)}{Rps(trellis.Get("max_rps"))}: {Verdict(AtMost(0.8, rps))}",
            $"max throughput, gRPC unary (meshed), at least 0.8x HAProxy's: {Ratio(grpcRps)}{Rps(trellis.Get("max_rps_grpc"))}: {(meshed ? Verdict(AtMost(0.8, grpcRps)) : OneHopOnly)}",
            $"added p99 at 1,000 req/s open loop (meshed), under 1 ms over direct: {Ms(added)}: {(meshed ? Verdict(added is null ? null : added < 1.0) : OneHopOnly)}",
            $"p99 under saturation, HTTP/1.1 ({topology}), at most 3x HAProxy's: {Ms(trellis.Get("sat_p99_ms"))} = {Ratio(sat)}: {Verdict(AtMost(sat, 3.0))}",
            $"p99 under saturation, gRPC unary ({topology}), at most 3x HAProxy's: {Ms(trellis.Get("grpc_sat_p99_ms"))} = {Ratio(grpcSat)}: {Verdict(AtMost(grpcSat, 3.0))}",
            $"peak RSS per proxy under load at most 20 MB: {Mb(peak)}: {Verdict(AtMost(peak, 20 * 1024))}",
            IdleLine(idle, quiet, quietSeconds),
        ];
    }

    /// <summary>
    /// Idle holds twice when the run had a quiet period: ready before any traffic, and quiet after
    /// it. The verdict needs both; a quiet figure the run should have had and lacks is not measured.
    /// </summary>
    private static string IdleLine(double? idle, double? quiet, double quietSeconds)
    {
        const string Line = "idle RSS per proxy at most 10 MB: ";
        if (quietSeconds <= 0)
        {
            return $"{Line}{Mb(idle)}: {Verdict(AtMost(idle, 10 * 1024))}";
        }
        var ready = AtMost(idle, 10 * 1024);
        var afterTraffic = AtMost(quiet, 10 * 1024);
        bool? met = ready == false || afterTraffic == false ? false : ready is null || afterTraffic is null ? null : true;
        return $"{Line}{Mb(idle)} ready, before any traffic; {Mb(quiet)} quiet {quietSeconds:0} s after traffic: {Verdict(met)}";
    }

    /// <summary>Whether <paramref name="low"/> is at most <paramref name="high"/>; null when either was not measured.</summary>
    private static bool? AtMost(double? low, double? high) => low is null || high is null ? null : low <= high;

    private static string Verdict(bool? met) => met switch { true => "**met**", false => "**not met**", null => "not measured" };

    private static string Ratio(double? v) => v is null ? "–" : $"{v:0.00}x";

    private static string Ms(double? v) => v is null ? "–" : $"{v:0.000} ms";

    private static string Mb(double? kb) => kb is null ? "–" : $"{kb / 1024:0.0} MB";

    private static string Rps(double? v) => v is null ? "" : $" ({v:0} req/s)";
}
