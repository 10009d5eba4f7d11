using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Unicode;

namespace Trellis.Proxy.Admin;

/// <summary>
/// Writes an admin response: status line, Content-Type, Content-Length, Date, the connection's
/// fate when it is not the HTTP/1.1 default, and the UTF-8 body encoded straight into the pipe.
/// No Server field: the admin port need not say what it runs.
/// </summary>
internal static class AdminResponseWriter
{
    private const int MaxHeadBytes = 512;

    public static ReadOnlySpan<byte> Continue => "HTTP/1.1 100 Continue\r\n\r\n"u8;

    /// <param name="connection">A Connection field line (close, or keep-alive for HTTP/1.0), or empty.</param>
    /// <param name="withBody">False for HEAD: the fields describe the body that is not sent.</param>
    public static void Write(
        PipeWriter writer, int status, string contentType, string body, ReadOnlySpan<byte> connection, bool withBody, DateTimeOffset now)
    {
        var length = Encoding.UTF8.GetByteCount(body);
        var span = writer.GetSpan(MaxHeadBytes);
        if (!Utf8.TryWrite(
                span,
                $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: {contentType}\r\nContent-Length: {length}\r\nDate: {now:R}\r\n",
                out var written))
        {
            throw new ArgumentException("The response head does not fit its buffer.", nameof(contentType));
        }

        writer.Advance(written);
        writer.Write(connection);
        writer.Write("\r\n"u8);
        if (withBody)
        {
            Encoding.UTF8.GetBytes(body, writer);
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        503 => "Service Unavailable",
        _ => string.Empty,
    };
}
