using System.Text;
using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1HeadScannerTests
{
    private const string Head = "GET /a HTTP/1.1\r\nHost: web\r\nX-A: 1\r\n\r\n";

    [Fact]
    public void Scan_CompleteHead_ReturnsLengthUpToEmptyLine()
    {
        var scanner = default(Http1HeadScanner);
        var buffer = SequenceBuilder.FromText(Head + "BODY");
        Assert.Equal(Http1ParseError.None, scanner.Scan(buffer, 1024, 1024, 10, out var length));
        Assert.Equal(Head.Length, length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(36)]
    [InlineData(37)]
    public void Scan_HeadSplitAcrossSegments_FindsEnd(int cut)
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.None, scanner.Scan(SequenceBuilder.FromText(Head, cut, Math.Min(cut + 1, Head.Length - 1)), 1024, 1024, 10, out var length));
        Assert.Equal(Head.Length, length);
    }

    [Fact]
    public void Scan_HeadArrivingByteByByte_ResumesAndFindsEnd()
    {
        var scanner = default(Http1HeadScanner);
        for (var received = 1; received < Head.Length; received++)
        {
            Assert.Equal(Http1ParseError.None, scanner.Scan(SequenceBuilder.FromText(Head[..received]), 1024, 1024, 10, out var partial));
            Assert.Equal(0, partial);
        }

        Assert.Equal(Http1ParseError.None, scanner.Scan(SequenceBuilder.FromText(Head), 1024, 1024, 10, out var length));
        Assert.Equal(Head.Length, length);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n")]
    public void Scan_BareLineFeed_IsRejected(string head)
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.BareLineFeed, scanner.Scan(SequenceBuilder.FromText(head), 1024, 1024, 10, out _));
    }

    [Fact]
    public void Scan_BareLineFeedAtSegmentStart_IsRejected()
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.BareLineFeed, scanner.Scan(SequenceBuilder.FromText("GET / HTTP/1.1\nX", 14), 1024, 1024, 10, out _));
    }

    [Fact]
    public void Scan_CrLfSplitAcrossSegments_IsAccepted()
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.None, scanner.Scan(SequenceBuilder.FromText(Head, 15), 1024, 1024, 10, out var length));
        Assert.Equal(Head.Length, length);
    }

    [Fact]
    public void Scan_HeadLargerThanLimit_IsTooLargeBeforeItEnds()
    {
        var scanner = default(Http1HeadScanner);
        var head = "GET / HTTP/1.1\r\nX: " + new string('a', 100);
        Assert.Equal(Http1ParseError.HeadTooLarge, scanner.Scan(SequenceBuilder.FromText(head), 64, 64, 10, out _));
    }

    [Fact]
    public void Scan_CompleteHeadLargerThanLimit_IsTooLarge()
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.HeadTooLarge, scanner.Scan(SequenceBuilder.FromText(Head), Head.Length - 1, 1024, 10, out _));
    }

    [Fact]
    public void Scan_RequestLineLongerThanLimit_IsRequestLineTooLong()
    {
        var scanner = default(Http1HeadScanner);
        Assert.Equal(Http1ParseError.RequestLineTooLong, scanner.Scan(SequenceBuilder.FromText("GET /" + new string('a', 50)), 1024, 32, 10, out _));

        scanner.Reset();
        Assert.Equal(Http1ParseError.RequestLineTooLong, scanner.Scan(SequenceBuilder.FromText("GET /" + new string('a', 50) + " HTTP/1.1\r\n"), 1024, 32, 10, out _));
    }

    [Fact]
    public void Scan_MoreLinesThanHeaderLimit_IsTooManyHeaders()
    {
        var scanner = default(Http1HeadScanner);
        var head = new StringBuilder("GET / HTTP/1.1\r\n");
        for (var i = 0; i < 5; i++)
        {
            head.Append("X: 1\r\n");
        }

        Assert.Equal(Http1ParseError.TooManyHeaders, scanner.Scan(SequenceBuilder.FromText(head.ToString()), 1024, 1024, 4, out _));
    }
}
