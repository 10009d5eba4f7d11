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
        var result = new RoundResult { Setup = setup, Protocol = BenchProtocol.Http1, Round = round, Saturation = new SaturationResult(rps, 1000, 0, "wrk") };
        result.Phases[1000] = new PhaseResult(histogram, 100, 0, 1, null);
        if (rssKb > 0)
        {
            result.Proxies.Add(new ProxyMemory("p", rssKb, rssKb / 2));
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
