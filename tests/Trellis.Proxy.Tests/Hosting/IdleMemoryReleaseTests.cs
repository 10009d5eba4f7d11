using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Hosting;

namespace Trellis.Proxy.Tests.Hosting;

public class IdleMemoryReleaseTests
{
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private long _traffic;
    private int _released;

    [Fact]
    public void Quiet_FromTheStart_NeverReleases()
    {
        using var release = Start();

        _time.Advance(QuietPeriod * 10);

        Assert.Equal(0, _released);
    }

    [Fact]
    public void QuietAfterTraffic_ForTheQuietPeriod_ReleasesOnce()
    {
        using var release = Start();
        _traffic++;
        _time.Advance(QuietPeriod / 2);

        _time.Advance(QuietPeriod);
        Assert.Equal(1, _released);

        _time.Advance(QuietPeriod * 10);
        Assert.Equal(1, _released);
    }

    [Fact]
    public void QuietAfterTraffic_ForLessThanTheQuietPeriod_DoesNotRelease()
    {
        using var release = Start();
        _traffic++;

        _time.Advance(QuietPeriod / 2);
        _traffic++;
        _time.Advance(QuietPeriod / 2);
        _time.Advance(QuietPeriod / 2);

        Assert.Equal(0, _released);
    }

    [Fact]
    public void Traffic_EveryHalfPeriod_NeverReleases()
    {
        using var release = Start();

        for (var i = 0; i < 20; i++)
        {
            _traffic += 100;
            _time.Advance(QuietPeriod / 2);
        }

        Assert.Equal(0, _released);
    }

    [Fact]
    public void TrafficAfterARelease_ThenQuiet_ReleasesAgain()
    {
        using var release = Start();
        _traffic++;
        _time.Advance(QuietPeriod / 2);
        _time.Advance(QuietPeriod);

        _traffic++;
        _time.Advance(QuietPeriod / 2);
        Assert.Equal(1, _released);
        _time.Advance(QuietPeriod);

        Assert.Equal(2, _released);
    }

    [Fact]
    public void Disposed_NeverReleases()
    {
        var release = Start();
        _traffic++;

        release.Dispose();
        _time.Advance(QuietPeriod * 4);

        Assert.Equal(0, _released);
    }

    [Fact]
    public void QuietPeriod_NotPositive_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdleMemoryRelease(TimeSpan.Zero, () => 0, () => { }, _time));
    }

    private IdleMemoryRelease Start() => new(QuietPeriod, () => _traffic, () => _released++, _time);
}
