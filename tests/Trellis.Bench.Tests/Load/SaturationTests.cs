using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Tests.Load;

public sealed class SaturationTests
{
    private const string Wrk = """
        Running 5s test @ http://127.0.0.1:8080/
          1 threads and 20 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency   612.43us  100.21us   3.10ms   90.00%
            Req/Sec    32.10k     1.20k   34.00k    70.00%
          Latency Distribution
             50%  612.00us
             75%  650.00us
             90%  700.00us
             99%    1.20ms
          160512 requests in 5.00s, 20.00MB read
          Socket errors: connect 0, read 2, write 0, timeout 1
          Non-2xx or 3xx responses: 4
        Requests/sec:  32102.40
        Transfer/sec:      4.00MB
        """;

    private const string H2load = """
        finished in 3.00s, 12000.33 req/s, 1.20MB/s
        requests: 36001 total, 36001 started, 36000 done, 35000 succeeded, 1000 failed, 0 errored, 0 timeout
        status codes: 35000 2xx, 0 3xx, 0 4xx, 1000 5xx
        """;

    [Fact]
    public void ParseWrk_Output_ReadsRateRequestsAndErrors()
    {
        var r = Saturation.ParseWrk(Wrk);
        Assert.Equal(32102.40, r.RequestsPerSecond, 2);
        Assert.Equal(160512, r.Requests);
        Assert.Equal(7, r.Errors);
        Assert.NotNull(r.Latency);
        Assert.Equal(0.612, r.Latency.P50Ms, 9);
        Assert.Equal(0.7, r.Latency.P90Ms, 9);
        Assert.Equal(1.2, r.Latency.P99Ms, 9);
    }

    [Fact]
    public void ParseWrk_NoLatencyDistribution_ThrowsSetupFailed()
    {
        var withoutDistribution = Wrk[..Wrk.IndexOf("  Latency Distribution", StringComparison.Ordinal)] + Wrk[Wrk.IndexOf("  160512", StringComparison.Ordinal)..];
        Assert.Throws<SetupFailedException>(() => Saturation.ParseWrk(withoutDistribution));
    }

    [Fact]
    public void ParseWrk_Garbage_ThrowsSetupFailed()
    {
        Assert.Throws<SetupFailedException>(() => Saturation.ParseWrk("unable to connect to 127.0.0.1:1 Connection refused"));
    }

    [Fact]
    public void ParseH2load_Output_CountsOnly2xxTowardThroughput()
    {
        var r = Saturation.ParseH2load(H2load);
        Assert.Equal(12000.33 * 35000 / 36000, r.RequestsPerSecond, 2);
        Assert.Equal(35000, r.Requests);
        Assert.Equal(1000, r.Errors);
    }

    [Fact]
    public void ParseH2load_Garbage_ThrowsSetupFailed()
    {
        Assert.Throws<SetupFailedException>(() => Saturation.ParseH2load("connect error"));
    }

    [Fact]
    public void GrpcFrame_IsLengthPrefixedUncompressed()
    {
        var frame = Saturation.GrpcFrame();
        Assert.Equal(0, frame[0]);
        Assert.Equal(frame.Length - 5, (frame[1] << 24) | (frame[2] << 16) | (frame[3] << 8) | frame[4]);
    }
}
