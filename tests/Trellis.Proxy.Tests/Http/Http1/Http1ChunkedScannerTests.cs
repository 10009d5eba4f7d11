using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1ChunkedScannerTests
{
    private static (Http1ParseError Error, long Consumed, bool Done) Scan(string body, params int[] cuts)
    {
        var scanner = new Http1ChunkedScanner();
        scanner.Reset();
        var error = scanner.Scan(SequenceBuilder.FromText(body, cuts), 64, 128, out var consumed);
        return (error, consumed, scanner.IsDone);
    }

    [Theory]
    [InlineData("0\r\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n")]
    [InlineData("5 ;ext\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n")]
    [InlineData("fF\r\n" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n0\r\n\r\n")]
    public void Scan_ValidBody_IsDoneAtItsEnd(string body)
    {
        var (error, consumed, done) = Scan(body + "NEXT");
        Assert.Equal(Http1ParseError.None, error);
        Assert.True(done);
        Assert.Equal(body.Length, consumed);
    }

    [Fact]
    public void Scan_BodySplitEverywhere_IsDone()
    {
        const string Body = "5;e\r\nhello\r\n0\r\nT: 1\r\n\r\n";
        for (var cut = 1; cut < Body.Length; cut++)
        {
            var (error, consumed, done) = Scan(Body, cut);
            Assert.Equal(Http1ParseError.None, error);
            Assert.True(done, $"cut at {cut}");
            Assert.Equal(Body.Length, consumed);
        }
    }

    [Fact]
    public void Scan_PartialBody_ConsumesAllAndIsNotDone()
    {
        var (error, consumed, done) = Scan("5\r\nhel");
        Assert.Equal(Http1ParseError.None, error);
        Assert.False(done);
        Assert.Equal(6, consumed);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("x\r\n")]
    [InlineData("-1\r\n")]
    [InlineData("0x5\r\n")]
    [InlineData("5\nhello\r\n")]
    [InlineData("5\r\nhelloXX0\r\n\r\n")]
    [InlineData("5\r\nhello\n0\r\n\r\n")]
    [InlineData("1000000000000000\r\n")]
    [InlineData("5;a\u0001b\r\n")]
    [InlineData("0\r\nX: 1\n\r\n")]
    [InlineData("0\r\n folded: 1\r\n\r\n")]
    [InlineData("0\r\nX: \u0000\r\n\r\n")]
    [InlineData("0\r\n\rX")]
    public void Scan_BadFraming_IsInvalidChunk(string body)
    {
        Assert.Equal(Http1ParseError.InvalidChunk, Scan(body).Error);
    }

    [Fact]
    public void Scan_ChunkLineLongerThanLimit_IsInvalidChunk()
    {
        Assert.Equal(Http1ParseError.InvalidChunk, Scan("5;" + new string('e', 100) + "\r\n").Error);
    }

    [Fact]
    public void Scan_TrailersLargerThanLimit_IsTrailersTooLarge()
    {
        Assert.Equal(Http1ParseError.TrailersTooLarge, Scan("0\r\nX: " + new string('a', 200) + "\r\n\r\n").Error);
    }
}
