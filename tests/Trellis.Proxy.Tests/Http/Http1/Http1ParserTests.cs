using System.Text;
using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1ParserTests
{
    private static Http1ParseError ParseRequest(string head, out Http1Head parsed)
    {
        parsed = new Http1Head(100);
        return Http1Parser.ParseRequest(Encoding.Latin1.GetBytes(head), parsed);
    }

    private static Http1ParseError ParseResponse(string head, out Http1Head parsed, bool requestWasHead = false)
    {
        parsed = new Http1Head(100);
        return Http1Parser.ParseResponse(Encoding.Latin1.GetBytes(head), parsed, requestWasHead);
    }

    [Fact]
    public void ParseRequest_SimpleGet_HasNoBodyAndKeepsAlive()
    {
        Assert.Equal(Http1ParseError.None, ParseRequest("GET /a HTTP/1.1\r\nHost: web\r\nAccept: */*\r\n\r\n", out var head));
        Assert.Equal(Http1BodyFraming.None, head.Framing);
        Assert.True(head.KeepAlive);
        Assert.Equal(2, head.HeaderCount);
        Assert.Equal(0, head.HostIndex);
        Assert.Equal(Http1HeaderKind.Host, head.Headers[0].Kind);
        Assert.Equal(3, head.Headers[0].ValueLength);
    }

    [Theory]
    [InlineData("Content-Length: 5", Http1BodyFraming.ContentLength, 5)]
    [InlineData("Content-Length: 5, 5", Http1BodyFraming.ContentLength, 5)]
    [InlineData("Content-Length: 5\r\nContent-Length: 5", Http1BodyFraming.ContentLength, 5)]
    [InlineData("Content-Length: 0", Http1BodyFraming.None, 0)]
    [InlineData("Transfer-Encoding: chunked", Http1BodyFraming.Chunked, -1)]
    [InlineData("Transfer-Encoding: gzip, Chunked", Http1BodyFraming.Chunked, -1)]
    [InlineData("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked", Http1BodyFraming.Chunked, -1)]
    public void ParseRequest_Framing_FollowsRfc9112(string field, object framing, long length)
    {
        Assert.Equal(Http1ParseError.None, ParseRequest($"POST / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n", out var head));
        Assert.Equal((Http1BodyFraming)framing, head.Framing);
        Assert.Equal(length, head.ContentLength);
    }

    [Theory]
    [InlineData("Content-Length: 1\r\nTransfer-Encoding: chunked", Http1ParseError.ContentLengthAndTransferEncoding)]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 1", Http1ParseError.ContentLengthAndTransferEncoding)]
    [InlineData("Content-Length: 1\r\nContent-Length: 2", Http1ParseError.ConflictingContentLength)]
    [InlineData("Content-Length: 1, 2", Http1ParseError.ConflictingContentLength)]
    [InlineData("Content-Length: -1", Http1ParseError.InvalidContentLength)]
    [InlineData("Content-Length: 1x", Http1ParseError.InvalidContentLength)]
    [InlineData("Content-Length: ", Http1ParseError.InvalidContentLength)]
    [InlineData("Content-Length: 1234567890123456789", Http1ParseError.InvalidContentLength)]
    [InlineData("Transfer-Encoding: gzip", Http1ParseError.UnsupportedTransferEncoding)]
    [InlineData("Transfer-Encoding: chunked, gzip", Http1ParseError.UnsupportedTransferEncoding)]
    [InlineData("Transfer-Encoding: chunked, chunked", Http1ParseError.UnsupportedTransferEncoding)]
    [InlineData("Transfer-Encoding: ", Http1ParseError.UnsupportedTransferEncoding)]
    [InlineData("Transfer-Encoding: chun ked", Http1ParseError.UnsupportedTransferEncoding)]
    [InlineData("X: a\r\n b", Http1ParseError.ObsoleteLineFolding)]
    [InlineData("X: a\r\n\tb", Http1ParseError.ObsoleteLineFolding)]
    [InlineData("X : a", Http1ParseError.InvalidHeaderName)]
    [InlineData(": a", Http1ParseError.InvalidHeaderName)]
    [InlineData("NoColon", Http1ParseError.InvalidHeaderName)]
    [InlineData("X(y): a", Http1ParseError.InvalidHeaderName)]
    [InlineData("X: a\u0001b", Http1ParseError.InvalidHeaderValue)]
    [InlineData("X: a\u007fb", Http1ParseError.InvalidHeaderValue)]
    [InlineData("X: a\rb", Http1ParseError.InvalidHeaderValue)]
    [InlineData("Host: b", Http1ParseError.MultipleHosts)]
    public void ParseRequest_BadField_IsRejected(string field, object expected)
    {
        Assert.Equal((Http1ParseError)expected, ParseRequest($"POST / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n", out _));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n", Http1ParseError.MissingHost)]
    [InlineData("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("GET /a\u0080 HTTP/1.1\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("GET / http/1.1\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("GET /\r\nHost: a\r\n\r\n", Http1ParseError.InvalidRequestLine)]
    [InlineData("GET / HTTP/1.2\r\nHost: a\r\n\r\n", Http1ParseError.UnsupportedVersion)]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", Http1ParseError.UnsupportedVersion)]
    [InlineData("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", Http1ParseError.UnsupportedMethod)]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Http1ParseError.TransferEncodingInHttp10)]
    public void ParseRequest_BadRequestLineOrHost_IsRejected(string request, object expected)
    {
        Assert.Equal((Http1ParseError)expected, ParseRequest(request, out _));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true)]
    public void ParseRequest_Persistence_FollowsVersionAndConnection(string request, bool keepAlive)
    {
        Assert.Equal(Http1ParseError.None, ParseRequest(request, out var head));
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Fact]
    public void ParseRequest_UpgradeNamedByConnection_IsUpgrade()
    {
        Assert.Equal(Http1ParseError.None, ParseRequest("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", out var head));
        Assert.True(head.IsUpgrade);

        Assert.Equal(Http1ParseError.None, ParseRequest("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", out head));
        Assert.False(head.IsUpgrade);
    }

    [Fact]
    public void ParseRequest_TooManyFields_IsRejected()
    {
        var head = new Http1Head(2);
        var bytes = Encoding.Latin1.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
        Assert.Equal(Http1ParseError.TooManyHeaders, Http1Parser.ParseRequest(bytes, head));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", Http1BodyFraming.ContentLength)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Http1BodyFraming.Chunked)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", Http1BodyFraming.UntilClose)]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", Http1BodyFraming.UntilClose)]
    [InlineData("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", Http1BodyFraming.None)]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", Http1BodyFraming.None)]
    [InlineData("HTTP/1.1 304 Not Modified\r\n\r\n", Http1BodyFraming.None)]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", Http1BodyFraming.None)]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", Http1BodyFraming.None)]
    public void ParseResponse_Framing_FollowsRfc9112(string response, object framing)
    {
        Assert.Equal(Http1ParseError.None, ParseResponse(response, out var head));
        Assert.Equal((Http1BodyFraming)framing, head.Framing);
    }

    [Fact]
    public void ParseResponse_ToHeadRequest_HasNoBody()
    {
        Assert.Equal(Http1ParseError.None, ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", out var head, requestWasHead: true));
        Assert.Equal(Http1BodyFraming.None, head.Framing);
        Assert.Equal(200, head.StatusCode);
    }

    [Theory]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("HTTP/1.1 099 OK\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("HTTP/2.0 200 OK\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("ICY 200 OK\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("HTTP/1.1 200 O\u0001K\r\n\r\n", Http1ParseError.InvalidStatusLine)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", Http1ParseError.ContentLengthAndTransferEncoding)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", Http1ParseError.ConflictingContentLength)]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", Http1ParseError.ObsoleteLineFolding)]
    public void ParseResponse_Malformed_IsRejected(string response, object expected)
    {
        Assert.Equal((Http1ParseError)expected, ParseResponse(response, out _));
    }

    [Theory]
    [InlineData("connection", Http1HeaderKind.Connection)]
    [InlineData("Content-Length", Http1HeaderKind.ContentLength)]
    [InlineData("TRANSFER-ENCODING", Http1HeaderKind.TransferEncoding)]
    [InlineData("Keep-Alive", Http1HeaderKind.KeepAlive)]
    [InlineData("Proxy-Connection", Http1HeaderKind.ProxyConnection)]
    [InlineData("te", Http1HeaderKind.Te)]
    [InlineData("Upgrade", Http1HeaderKind.Upgrade)]
    [InlineData("Trailer", Http1HeaderKind.Other)]
    [InlineData("Hostx", Http1HeaderKind.Other)]
    public void Classify_Name_IgnoresCase(string name, object kind)
    {
        Assert.Equal((Http1HeaderKind)kind, Http1Parser.Classify(Encoding.ASCII.GetBytes(name)));
    }
}
