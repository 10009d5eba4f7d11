using System.Text;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

public class HpackRecentStringsTests
{
    [Fact]
    public void GetOrAdd_RepeatedValue_ReturnsTheSameInstance()
    {
        var recent = new HpackRecentStrings();

        var first = recent.GetOrAdd("/echo.Echo/Unary"u8);
        var second = recent.GetOrAdd("/echo.Echo/Unary"u8);

        Assert.Equal("/echo.Echo/Unary", first);
        Assert.Same(first, second);
    }

    [Fact]
    public void GetOrAdd_SameLengthDifferentBytes_ReturnsDifferentStrings()
    {
        var recent = new HpackRecentStrings();

        Assert.Equal("abc", recent.GetOrAdd("abc"u8));
        Assert.Equal("abd", recent.GetOrAdd("abd"u8));
        Assert.Equal("abc", recent.GetOrAdd("abc"u8));
    }

    [Fact]
    public void GetOrAdd_ValuesThatChangeEveryTime_DoNotEvictOnesThatRepeat()
    {
        var recent = new HpackRecentStrings();
        var path = recent.GetOrAdd("/svc/Method"u8);
        var authority = recent.GetOrAdd("svc.ns:8080"u8);

        for (var i = 0; i < 100; i++)
        {
            recent.GetOrAdd(Encoding.ASCII.GetBytes($"{i}m"));
            Assert.Same(path, recent.GetOrAdd("/svc/Method"u8));
            Assert.Same(authority, recent.GetOrAdd("svc.ns:8080"u8));
        }
    }

    [Fact]
    public void GetOrAdd_LeastRecentlyUsed_IsEvictedFirst()
    {
        var recent = new HpackRecentStrings();
        var oldest = recent.GetOrAdd("value-0"u8);
        for (var i = 1; i <= HpackRecentStrings.Capacity; i++)
        {
            recent.GetOrAdd(Encoding.ASCII.GetBytes($"value-{i}"));
        }

        var again = recent.GetOrAdd("value-0"u8);

        Assert.Equal("value-0", again);
        Assert.NotSame(oldest, again);
    }

    [Fact]
    public void GetOrAdd_ValuesItCannotMatch_DoNotEvictOnesThatRepeat()
    {
        var recent = new HpackRecentStrings();
        var oldest = recent.GetOrAdd("value-0"u8);
        for (var i = 1; i < HpackRecentStrings.Capacity; i++)
        {
            recent.GetOrAdd(Encoding.ASCII.GetBytes($"value-{i}"));
        }

        recent.GetOrAdd([0x78, 0xE9, 0xFF]);
        recent.GetOrAdd(new byte[HpackRecentStrings.MaxLength + 1]);

        Assert.Same(oldest, recent.GetOrAdd("value-0"u8));
    }

    [Fact]
    public void GetOrAdd_NonAsciiOrLongValues_KeepEveryOctetAndAreNotShared()
    {
        var recent = new HpackRecentStrings();
        byte[] latin1 = [0x78, 0xE9, 0xFF];
        var longValue = new byte[HpackRecentStrings.MaxLength + 1];
        longValue.AsSpan().Fill((byte)'a');

        var first = recent.GetOrAdd(latin1);
        var second = recent.GetOrAdd(latin1);

        Assert.Equal("x\u00e9\u00ff", first);
        Assert.Equal(first, second);
        Assert.NotSame(first, second);
        Assert.NotSame(recent.GetOrAdd(longValue), recent.GetOrAdd(longValue));
        Assert.Equal(new string('a', HpackRecentStrings.MaxLength + 1), recent.GetOrAdd(longValue));
    }
}
