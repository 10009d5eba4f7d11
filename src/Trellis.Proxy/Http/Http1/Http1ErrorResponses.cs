using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// The responses the proxy answers with itself, built once at startup so that failing fast
/// costs no formatting: a status line, <c>trellis-proxy-error</c> (for upstream failures),
/// <c>content-length</c>, and a one-line body.
/// </summary>
internal static class Http1ErrorResponses
{
    private static readonly byte[][] ProxyErrors = BuildProxyErrors();
    private static readonly byte[][] Rejections = BuildRejections();

    /// <summary>Writes a 502/504 for an upstream failure; the caller flushes.</summary>
    public static void WriteProxyError(PipeWriter writer, ProxyError error, bool close)
    {
        var response = ProxyErrors[(int)error];
        var headEnd = response.AsSpan().IndexOf("\r\n\r\n"u8) + 2;
        writer.Write(response.AsSpan(0, headEnd));
        writer.Write(close ? Http1HeadWriter.ConnectionClose : Http1HeadWriter.ConnectionKeepAlive);
        writer.Write(response.AsSpan(headEnd));
    }

    /// <summary>Writes the answer to a request the proxy refused to parse; the connection closes after it.</summary>
    public static void WriteRejection(PipeWriter writer, Http1ParseError error) => writer.Write(Rejections[(int)error]);

    private static byte[][] BuildProxyErrors()
    {
        var errors = Enum.GetValues<ProxyError>();
        var table = new byte[errors.Length][];
        foreach (var error in errors)
        {
            var status = error.StatusCode();
            var body = error.Reason() + "\n";
            table[(int)error] = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status} {(status == 504 ? "Gateway Timeout" : "Bad Gateway")}\r\n" +
                $"trellis-proxy-error: {error.Reason()}\r\ncontent-length: {body.Length}\r\n\r\n{body}");
        }

        return table;
    }

    private static byte[][] BuildRejections()
    {
        var errors = Enum.GetValues<Http1ParseError>();
        var table = new byte[errors.Length][];
        foreach (var error in errors)
        {
            var status = error.StatusCode();
            var reason = status switch
            {
                414 => "URI Too Long",
                431 => "Request Header Fields Too Large",
                405 => "Method Not Allowed",
                505 => "HTTP Version Not Supported",
                _ => "Bad Request",
            };
            var body = Describe(error) + "\n";
            table[(int)error] = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status} {reason}\r\ncontent-length: {body.Length}\r\nconnection: close\r\n\r\n{body}");
        }

        return table;
    }

    private static string Describe(Http1ParseError error) => error switch
    {
        Http1ParseError.RequestLineTooLong => "request line too long",
        Http1ParseError.HeadTooLarge => "request head too large",
        Http1ParseError.TooManyHeaders => "too many header fields",
        Http1ParseError.BareLineFeed => "line not terminated by CRLF",
        Http1ParseError.ObsoleteLineFolding => "obsolete line folding",
        Http1ParseError.InvalidHeaderName => "invalid header field name",
        Http1ParseError.InvalidHeaderValue => "invalid header field value",
        Http1ParseError.MissingHost => "missing Host",
        Http1ParseError.MultipleHosts => "more than one Host",
        Http1ParseError.InvalidContentLength => "invalid Content-Length",
        Http1ParseError.ConflictingContentLength => "conflicting Content-Length values",
        Http1ParseError.ContentLengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
        Http1ParseError.UnsupportedTransferEncoding => "final transfer coding is not chunked",
        Http1ParseError.TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
        Http1ParseError.UnsupportedVersion => "HTTP version not supported",
        Http1ParseError.UnsupportedMethod => "CONNECT is not supported",
        Http1ParseError.InvalidChunk => "invalid chunked encoding",
        Http1ParseError.TrailersTooLarge => "trailer section too large",
        _ => "invalid request line",
    };
}
