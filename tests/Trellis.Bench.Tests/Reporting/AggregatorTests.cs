using HdrHistogram;
using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Reporting;
using Trellis.Bench.Setups;

namespace Trellis.Bench.Tests.Reporting;

public sealed class AggregatorTests
{
    private static RoundResult Round(string setup, int round, long latencyMicros, double rps, long rssKb)
    {
        var histogram = PhaseResult.NewHistogram();
        for (var i = 0; i < 100; i++)
        {
            histogram.RecordValue(latencyMicros);
        }
        var saturationLatency = new SaturationLatency(latencyMicros / 1000.0, latencyMicros / 500.0, latencyMicros / 250.0);
        var result = new RoundResult { Setup = setup, Protocol = BenchProtocol.Http1, Round = round, Saturation = new SaturationResult(rps, 1000, 0, "wrk", saturationLatency) };
        result.Phases[1000] = new PhaseResult(histogram, 100, 0, 1, null);
        if (rssKb > 0)
        {
            result.Proxies.Add(new ProxyMemory("p", rssKb, rssKb / 2, rssKb / 4, rssKb / 8));
            result.CpuSecondsPer10k = 0.5;
        }
        return result;
    }

    [Fact]
    public void Summarize_Rounds_MediansAddedLatencyAndHaproxyRatios()
    {
        List<RoundResult> results =
        [
            Round("direct", 1, 200, 40000, 0), Round("haproxy", 1, 700, 20000, 10000),
            Round("direct", 2, 300, 42000, 0), Round("haproxy", 2, 900, 24000, 12000),
            Round("direct", 3, 250, 41000, 0), Round("haproxy", 3, 800, 22000, 11000),
        ];
        var summaries = Aggregator.Summarize(["direct", "haproxy"], new Dictionary<string, string>(), results, [1000]);
        var haproxy = summaries[1];
        Assert.Equal("ok", haproxy.Status);
        Assert.Equal(22000, haproxy.Get("max_rps"));
        Assert.Equal((20000, 24000), haproxy.Spread["max_rps"]);
        Assert.Equal(0.8, haproxy.Get("p99_ms_1000")!.Value, 2);
        Assert.Equal(0.55, haproxy.Get("added_p99_ms_1000")!.Value, 2);
        Assert.Equal(11000, haproxy.Get("proxy_rss_peak_kb"));
        Assert.Equal(1.0, haproxy.Get("max_rps_vs_haproxy"));
        Assert.Null(summaries[0].Get("proxy_rss_peak_kb"));
    }

    [Fact]
    public void Summarize_Rounds_SaturationLatencyMediansAndHaproxyRatio()
    {
        List<RoundResult> results =
        [
            Round("haproxy", 1, 700, 20000, 10000), Round("trellis", 1, 1400, 18000, 8000),
            Round("haproxy", 2, 900, 24000, 12000), Round("trellis", 2, 2000, 19000, 9000),
            Round("haproxy", 3, 800, 22000, 11000), Round("trellis", 3, 1600, 17000, 8500),
        ];
        var trellis = Aggregator.Summarize(["haproxy", "trellis"], new Dictionary<string, string>(), results, [1000])[1];
        Assert.Equal(1.6, trellis.Get("sat_p50_ms")!.Value, 6);
        Assert.Equal(3.2, trellis.Get("sat_p90_ms")!.Value, 6);
        Assert.Equal(6.4, trellis.Get("sat_p99_ms")!.Value, 6);
        Assert.Equal((5.6, 8.0), trellis.Spread["sat_p99_ms"]);
        Assert.Equal(2.0, trellis.Get("sat_p99_ms_vs_haproxy")!.Value, 6);
        Assert.Null(trellis.Get("grpc_sat_p99_ms"));
        Assert.Null(trellis.Get("grpc_sat_p99_ms_vs_haproxy"));
    }

    [Fact]
    public void Summarize_IdleMemory_LargestProcessMedianAndPerProcess()
    {
        var round1 = Round("trellis", 1, 500, 1000, 0);
        round1.Proxies.Add(new ProxyMemory("trellis client-proxy", 12000, 6000, 7000, 3000));
        round1.Proxies.Add(new ProxyMemory("trellis server-proxy", 11000, 5000, 8000, 3500));
        var round2 = Round("trellis", 2, 500, 1000, 0);
        round2.Proxies.Add(new ProxyMemory("trellis client-proxy", 12500, 6100, 9000, 4000));
        round2.Proxies.Add(new ProxyMemory("trellis server-proxy", 11500, 5100, 6000, 2000));
        var trellis = Aggregator.Summarize(["trellis"], new Dictionary<string, string>(), [round1, round2], [1000]).Single();
        Assert.Equal(8500, trellis.Get("proxy_idle_rss_kb"));
        Assert.Equal(3750, trellis.Get("proxy_idle_anon_kb"));
        Assert.Equal((8000, 9000), trellis.Spread["proxy_idle_rss_kb"]);
        Assert.Contains(("trellis client-proxy", 12500L, 6100L, 9000L, 4000L), trellis.Proxies);
        Assert.Contains(("trellis server-proxy", 11500L, 5100L, 8000L, 3500L), trellis.Proxies);
    }

    [Fact]
    public void Summarize_QuietPass_LargestProcessPerProcessAndHaproxyRatio()
    {
        var quiet = new List<QuietResult>
        {
            new("haproxy", [new ProxyQuietMemory("haproxy client-side", 18000, 6000), new ProxyQuietMemory("haproxy server-side", 20000, 8000)]),
            new("trellis", [new ProxyQuietMemory("trellis client-side", 10000, 7000), new ProxyQuietMemory("trellis server-side", 9000, 7200)]),
        };
        var results = new List<RoundResult> { Round("direct", 1, 100, 1000, 0), Round("haproxy", 1, 500, 1000, 0), Round("trellis", 1, 500, 1000, 0) };
        var summaries = Aggregator.Summarize(["direct", "haproxy", "trellis"], new Dictionary<string, string>(), results, [1000], quiet);
        var trellis = summaries[2];
        Assert.Equal(10000, trellis.Get("proxy_quiet_rss_kb"));
        Assert.Equal(7200, trellis.Get("proxy_quiet_anon_kb"));
        Assert.Equal(0.5, trellis.Get("proxy_quiet_rss_kb_vs_haproxy")!.Value, 6);
        Assert.Equal(quiet[1].Proxies, trellis.QuietProxies);
        Assert.Null(trellis.QuietError);
        Assert.True(summaries[0].Values.ContainsKey("proxy_quiet_rss_kb"));
        Assert.Null(summaries[0].Get("proxy_quiet_rss_kb"));
    }

    [Fact]
    public void Summarize_QuietPassFailed_NoFigureAndTheReason()
    {
        var quiet = new List<QuietResult> { new("yarp", [], "proxy died while quiet: yarp exited with code 139") };
        var summary = Aggregator.Summarize(["yarp"], new Dictionary<string, string>(), [Round("yarp", 1, 500, 1000, 0)], [1000], quiet).Single();
        Assert.Null(summary.Get("proxy_quiet_rss_kb"));
        Assert.Empty(summary.QuietProxies);
        Assert.Equal("proxy died while quiet: yarp exited with code 139", summary.QuietError);
        Assert.Equal("ok", summary.Status);
    }

    [Fact]
    public void Summarize_AllRoundsFailed_StatusFailedWithReason()
    {
        var failed = new RoundResult { Setup = "yarp", Protocol = BenchProtocol.Http1, Round = 1, Error = "binary missing" };
        var summary = Aggregator.Summarize(["yarp"], new Dictionary<string, string>(), [failed], [1000]).Single();
        Assert.Equal("failed", summary.Status);
        Assert.Contains("binary missing", summary.Error);
        Assert.Null(summary.Get("p99_ms_1000"));
    }

    [Fact]
    public void Median_EvenCount_AveragesMiddle()
    {
        Assert.Equal(2.5, Aggregator.Median([4, 1, 2, 3]));
    }
}
