using System.Text;
using Trellis.Bench.Load;

namespace Trellis.Bench.Tests.Load;

public sealed class Http1ConnectionTests
{
    [Fact]
    public void ParseHead_CompleteHead_ReturnsHeadPlusBodyLength()
    {
        var head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
        Assert.Equal(head.Length + 5, Http1Connection.ParseHead(Encoding.ASCII.GetBytes(head + "hel")));
    }

    [Fact]
    public void ParseHead_HeaderNameInOtherCase_IsFound()
    {
        var head = "HTTP/1.1 200 OK\r\ncontent-LENGTH:12\r\n\r\n";
        Assert.Equal(head.Length + 12, Http1Connection.ParseHead(Encoding.ASCII.GetBytes(head)));
    }

    [Fact]
    public void ParseHead_IncompleteHead_ReturnsMinusOne()
    {
        Assert.Equal(-1, Http1Connection.ParseHead("HTTP/1.1 200 OK\r\nContent-Len"u8));
    }

    [Fact]
    public void ParseHead_Non200_Throws()
    {
        var e = Assert.Throws<IOException>(() => Http1Connection.ParseHead("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"u8));
        Assert.Contains("502", e.Message);
    }

    [Fact]
    public void ParseHead_NoContentLength_Throws()
    {
        Assert.Throws<IOException>(() => Http1Connection.ParseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8));
    }

    [Fact]
    public void ParseHead_BadContentLength_Throws()
    {
        Assert.Throws<IOException>(() => Http1Connection.ParseHead("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"u8));
    }
}
