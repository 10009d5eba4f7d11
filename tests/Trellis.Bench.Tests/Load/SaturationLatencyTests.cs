using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Tests.Load;

public sealed class SaturationLatencyTests : IDisposable
{
    private readonly string _log = Path.Combine(Path.GetTempPath(), "trellis-bench-h2load-" + Guid.NewGuid().ToString("N") + ".log");

    [Theory]
    [InlineData("850.00us", "900.00us", "950.00us", 0.85, 0.9, 0.95)]
    [InlineData("1.50ms", "12.25ms", "101.00ms", 1.5, 12.25, 101)]
    [InlineData("999.00us", "1.00s", "2.50s", 0.999, 1000, 2500)]
    [InlineData("4.00s", "1.50m", "2.00m", 4000, 90_000, 120_000)]
    public void FromWrk_Distribution_ConvertsEachLinesUnitToMs(string p50, string p90, string p99, double p50Ms, double p90Ms, double p99Ms)
    {
        var output = $"""
            Running 3s test @ http://127.0.0.1:8080/
              1 threads and 20 connections
              Thread Stats   Avg      Stdev     Max   +/- Stdev
                Latency     1.00ms    1.00ms   5.00s    99.00%
                Req/Sec    10.00k     1.00k   12.00k    70.00%
              Latency Distribution
                 50%  {p50}
                 75%  {p50}
                 90%  {p90}
                 99%  {p99}
              30000 requests in 3.00s, 3.00MB read
            Requests/sec:  10000.00
            Transfer/sec:      1.00MB
            """;
        var latency = SaturationLatency.FromWrk(output);
        Assert.Equal(p50Ms, latency.P50Ms, 9);
        Assert.Equal(p90Ms, latency.P90Ms, 9);
        Assert.Equal(p99Ms, latency.P99Ms, 9);
    }

    [Fact]
    public void FromWrk_DistributionWithoutP99_ThrowsSetupFailed()
    {
        const string output = """
              Latency Distribution
                 50%  1.00ms
                 75%  1.00ms
                 90%  2.00ms
            Requests/sec:  10000.00
            """;
        Assert.Throws<SetupFailedException>(() => SaturationLatency.FromWrk(output));
    }

    [Fact]
    public void FromH2loadLog_Mixed_Uses2xxDurationsOnly()
    {
        var lines = new List<string>();
        var start = 1_795_592_479_000_000L;
        // 98 fast successes and two slow ones, so p99 falls on a slow 2xx; the failures are slower still.
        for (var i = 1; i <= 98; i++)
        {
            lines.Add($"{start + i}\t200\t{i * 10}");
        }
        lines.Add($"{start + 99}\t200\t5000");
        lines.Add($"{start + 100}\t200\t5000");
        lines.Add($"{start + 101}\t503\t900000");
        lines.Add($"{start + 102}\t-1\t900000");
        lines.Add($"{start + 103}\t404\t900000\textra-column");
        lines.Add("");
        File.WriteAllLines(_log, lines);

        var latency = SaturationLatency.FromH2loadLog(_log);

        Assert.NotNull(latency);
        Assert.Equal(0.5, latency.P50Ms, 2);
        Assert.Equal(0.9, latency.P90Ms, 2);
        Assert.Equal(5.0, latency.P99Ms, 2);
    }

    [Fact]
    public void FromH2loadLog_No2xx_IsNull()
    {
        File.WriteAllLines(_log, ["1795592479147904\t404\t4794", "1795592479152848\t-1\t508"]);
        Assert.Null(SaturationLatency.FromH2loadLog(_log));
    }

    public void Dispose()
    {
        File.Delete(_log);
    }
}
