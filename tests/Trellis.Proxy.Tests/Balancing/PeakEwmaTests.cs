using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Balancing;

namespace Trellis.Proxy.Tests.Balancing;

public class PeakEwmaTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void EstimateMs_NewEndpoint_IsDefaultRtt()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions(), _time);

        Assert.Equal(30, ewma.EstimateMs(_time.GetTimestamp()), precision: 6);
    }

    [Fact]
    public void Complete_SlowerObservation_JumpsToPeakAtOnce()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions(), _time);

        ewma.Start().Complete(TimeSpan.FromMilliseconds(500), failed: false);

        Assert.Equal(500, ewma.EstimateMs(_time.GetTimestamp()), precision: 6);
    }

    [Fact]
    public void EstimateMs_AfterOneDecayTime_FallsToOneOverE()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions(), _time);
        ewma.Start().Complete(TimeSpan.FromMilliseconds(500), failed: false);

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(500 / Math.E, ewma.EstimateMs(_time.GetTimestamp()), precision: 6);
    }

    [Fact]
    public void Complete_FasterObservation_MovesTowardsItByElapsedTime()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions(), _time);
        ewma.Start().Complete(TimeSpan.FromMilliseconds(100), failed: false);

        _time.Advance(TimeSpan.FromSeconds(10));
        ewma.Start().Complete(TimeSpan.FromMilliseconds(10), failed: false);

        var decay = 1 / Math.E;
        Assert.Equal((100 * decay) + (10 * (1 - decay)), ewma.EstimateMs(_time.GetTimestamp()), precision: 6);
    }

    [Fact]
    public void Complete_Failure_CountsAsPenalty()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions { FailurePenalty = TimeSpan.FromMilliseconds(750) }, _time);

        ewma.Start().Complete(TimeSpan.FromMilliseconds(2), failed: true);

        Assert.Equal(750, ewma.EstimateMs(_time.GetTimestamp()), precision: 6);
    }

    [Fact]
    public void Cost_PendingRequests_MultiplyEstimate()
    {
        var ewma = new PeakEwma(new PeakEwmaOptions(), _time);
        var first = ewma.Start();
        ewma.Start();

        Assert.Equal(30 * 3 / 2.0, ewma.Cost(_time.GetTimestamp(), weight: 2), precision: 6);

        first.Complete(failed: false);
        Assert.Equal(1, ewma.Pending);
    }
}
