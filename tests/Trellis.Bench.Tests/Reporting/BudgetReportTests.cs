using Trellis.Bench.Reporting;

namespace Trellis.Bench.Tests.Reporting;

public sealed class BudgetReportTests
{
    private static SetupSummary Trellis(params (string Key, double? Value)[] values)
    {
        var summary = new SetupSummary { Name = "trellis", Label = "trellis (mTLS)", Status = "ok" };
        foreach (var (key, value) in values)
        {
            summary.Values[key] = value;
        }
        return summary;
    }

    private static SetupSummary WithinBudget() => Trellis(
        ("max_rps", 30000), ("max_rps_vs_haproxy", 0.9),
        ("max_rps_grpc", 9000), ("max_rps_grpc_vs_haproxy", 0.85),
        ("added_p99_ms_1000", 0.4),
        ("sat_p99_ms", 2.5), ("sat_p99_ms_vs_haproxy", 1.25),
        ("grpc_sat_p99_ms", 9.0), ("grpc_sat_p99_ms_vs_haproxy", 3.0),
        ("proxy_rss_peak_kb", 20 * 1024), ("proxy_idle_rss_kb", 6 * 1024));

    [Fact]
    public void Lines_Meshed_EveryBudgetLineMet()
    {
        var lines = BudgetReport.Lines(WithinBudget(), hops: 2);
        Assert.Equal(
        [
            "max throughput, HTTP/1.1 (meshed), at least 0.8x HAProxy's: 0.90x (30000 req/s): **met**",
            "max throughput, gRPC unary (meshed), at least 0.8x HAProxy's: 0.85x (9000 req/s): **met**",
            "added p99 at 1,000 req/s open loop (meshed), under 1 ms over direct: 0.400 ms: **met**",
            "p99 under saturation, HTTP/1.1 (meshed), at most 3x HAProxy's: 2.500 ms = 1.25x: **met**",
            "p99 under saturation, gRPC unary (meshed), at most 3x HAProxy's: 9.000 ms = 3.00x: **met**",
            "peak RSS per proxy under load at most 20 MB: 20.0 MB: **met**",
            "idle RSS per proxy at most 10 MB: 6.0 MB: **met**",
        ], lines);
    }

    [Fact]
    public void Lines_OverBudget_EveryLineNotMet()
    {
        var trellis = Trellis(
            ("max_rps", 10000), ("max_rps_vs_haproxy", 0.5),
            ("max_rps_grpc", 3000), ("max_rps_grpc_vs_haproxy", 0.79),
            ("added_p99_ms_1000", 1.0),
            ("sat_p99_ms", 10.0), ("sat_p99_ms_vs_haproxy", 3.5),
            ("grpc_sat_p99_ms", 31.0), ("grpc_sat_p99_ms_vs_haproxy", 3.1),
            ("proxy_rss_peak_kb", 20 * 1024 + 1), ("proxy_idle_rss_kb", 10 * 1024 + 1));
        var lines = BudgetReport.Lines(trellis, hops: 2);
        Assert.Equal(7, lines.Count);
        Assert.All(lines, line => Assert.EndsWith(": **not met**", line));
    }

    [Fact]
    public void Lines_OneHop_MeshedOnlyLinesGetNoVerdict()
    {
        var lines = BudgetReport.Lines(WithinBudget(), hops: 1);
        Assert.Equal("max throughput, HTTP/1.1 (one plaintext hop), at least 0.8x HAProxy's: 0.90x (30000 req/s): **met**", lines[0]);
        Assert.Equal("max throughput, gRPC unary (meshed), at least 0.8x HAProxy's: 0.85x (9000 req/s): measured one hop, the line is for the meshed topology: no verdict", lines[1]);
        Assert.Equal("added p99 at 1,000 req/s open loop (meshed), under 1 ms over direct: 0.400 ms: measured one hop, the line is for the meshed topology: no verdict", lines[2]);
        Assert.Equal("p99 under saturation, HTTP/1.1 (one plaintext hop), at most 3x HAProxy's: 2.500 ms = 1.25x: **met**", lines[3]);
        Assert.Equal("p99 under saturation, gRPC unary (one plaintext hop), at most 3x HAProxy's: 9.000 ms = 3.00x: **met**", lines[4]);
    }

    [Fact]
    public void Lines_QuietPeriod_IdleHoldsReadyAndQuiet()
    {
        var trellis = WithinBudget();
        trellis.Values["proxy_quiet_rss_kb"] = 9.5 * 1024;
        var lines = BudgetReport.Lines(trellis, hops: 2, quietSeconds: 240);
        Assert.Equal("idle RSS per proxy at most 10 MB: 6.0 MB ready, before any traffic; 9.5 MB quiet 240 s after traffic: **met**", lines[6]);
    }

    [Fact]
    public void Lines_QuietOverTenMegabytes_IdleNotMet()
    {
        var trellis = WithinBudget();
        trellis.Values["proxy_quiet_rss_kb"] = 10 * 1024 + 1;
        Assert.EndsWith("quiet 240 s after traffic: **not met**", BudgetReport.Lines(trellis, hops: 2, quietSeconds: 240)[6]);
    }

    [Fact]
    public void Lines_QuietPeriodWithoutQuietFigure_IdleNotMeasured()
    {
        var lines = BudgetReport.Lines(WithinBudget(), hops: 2, quietSeconds: 240);
        Assert.Equal("idle RSS per proxy at most 10 MB: 6.0 MB ready, before any traffic; – quiet 240 s after traffic: not measured", lines[6]);
    }

    [Fact]
    public void Lines_NoHaproxyOrGrpcFigures_NotMeasured()
    {
        var trellis = Trellis(("max_rps", 30000), ("max_rps_vs_haproxy", null), ("sat_p99_ms", 2.0), ("sat_p99_ms_vs_haproxy", null));
        var lines = BudgetReport.Lines(trellis, hops: 2);
        Assert.Equal("max throughput, HTTP/1.1 (meshed), at least 0.8x HAProxy's: – (30000 req/s): not measured", lines[0]);
        Assert.Equal("max throughput, gRPC unary (meshed), at least 0.8x HAProxy's: –: not measured", lines[1]);
        Assert.Equal("p99 under saturation, HTTP/1.1 (meshed), at most 3x HAProxy's: 2.000 ms = –: not measured", lines[3]);
        Assert.Equal("idle RSS per proxy at most 10 MB: –: not measured", lines[6]);
    }
}
