using System.Diagnostics;
using Trellis.Bench.Load;

namespace Trellis.Bench.Tests.Load;

public sealed class MonotonicClockTests
{
    [Fact]
    public void SleepUntil_FutureDeadline_ReturnsNoEarlier()
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50;

        MonotonicClock.SleepUntil(deadline);

        Assert.True(Stopwatch.GetTimestamp() >= deadline);
    }
}
