using Microsoft.Extensions.Logging.Abstractions;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Metrics;

namespace Trellis.Proxy.Tests.Http.Http2;

public class Http2OptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass()
    {
        new Http2Options().Validate();
    }

    [Fact]
    public void Validate_InfiniteResponseIdleTimeout_Passes()
    {
        new Http2Options { ResponseIdleTimeout = Timeout.InfiniteTimeSpan }.Validate();
    }

    [Fact]
    public void Validate_ZeroConnectTimeout_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http2Options { ConnectTimeout = TimeSpan.Zero }.Validate());

        Assert.Equal(nameof(Http2Options.ConnectTimeout), e.ParamName);
    }

    [Fact]
    public void Validate_InfiniteConnectTimeout_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http2Options { ConnectTimeout = Timeout.InfiniteTimeSpan }.Validate());

        Assert.Equal(nameof(Http2Options.ConnectTimeout), e.ParamName);
    }

    [Fact]
    public void Validate_NegativeResponseIdleTimeout_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http2Options { ResponseIdleTimeout = TimeSpan.FromSeconds(-2) }.Validate());

        Assert.Equal(nameof(Http2Options.ResponseIdleTimeout), e.ParamName);
    }

    [Fact]
    public void Validate_ZeroMaxConcurrentStreams_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http2Options { MaxConcurrentStreams = 0 }.Validate());

        Assert.Equal(nameof(Http2Options.MaxConcurrentStreams), e.ParamName);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http2Forwarder(
            new TargetAddressResolver(), new ProxyMetrics(new MetricsRegistry()), new Http2Options { ClientIdleTimeout = TimeSpan.Zero },
            TimeProvider.System, NullLoggerFactory.Instance));
    }
}
