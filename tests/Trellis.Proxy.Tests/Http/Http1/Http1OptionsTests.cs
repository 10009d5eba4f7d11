using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1OptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass()
    {
        new Http1Options().Validate();
    }

    [Fact]
    public void Validate_HeadSmallerThanRequestLine_NamesTheOption()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http1Options { MaxRequestHeadBytes = 100, MaxRequestLineBytes = 200 }.Validate());
        Assert.Equal(nameof(Http1Options.MaxRequestHeadBytes), e.ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Validate_NonPositiveResponseTimeout_Throws(int seconds)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Http1Options { ResponseHeadersTimeout = TimeSpan.FromSeconds(seconds) }.Validate());
        Assert.Equal(nameof(Http1Options.ResponseHeadersTimeout), e.ParamName);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http1Harness(new Http1Options { MaxHeaderCount = 0 }));
    }
}
