using Trellis.Proxy.ControlPlane;

namespace Trellis.Proxy.Tests.ControlPlane;

public class ExponentialBackoffTests
{
    private static readonly ExponentialBackoff Backoff = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));

    [Fact]
    public void Delay_Attempts_DoubleWithinJitterAndStopAtCap()
    {
        var random = new Random(7);
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var cap = Math.Min(100 * Math.Pow(2, attempt), 2000);
            var delay = Backoff.Delay(attempt, random).TotalMilliseconds;
            Assert.InRange(delay, cap / 2, cap);
        }
    }

    [Fact]
    public void Delay_SameAttempt_Jittered()
    {
        var random = new Random(7);
        var delays = Enumerable.Range(0, 20).Select(_ => Backoff.Delay(10, random)).Distinct().Count();

        Assert.True(delays > 1);
    }

    [Fact]
    public void Delay_HugeAttempt_StaysAtCap()
    {
        Assert.InRange(Backoff.Delay(int.MaxValue, new Random(1)).TotalMilliseconds, 1000, 2000);
    }

    [Fact]
    public void Delay_MaxBelowMin_Throws()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

        Assert.Throws<InvalidOperationException>(() => backoff.Delay(0, new Random(1)));
    }
}
