using System.Buffers;
using System.Text;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Detection;

/// <summary>
/// Classifies a connection from its first bytes: the HTTP/2 client preface, a TLS handshake
/// record, an HTTP/1.x request line, or anything else (opaque). Pure and allocation-free so it
/// can be tested byte by byte and called on every read until it decides.
/// </summary>
public static class ProtocolDetector
{
    /// <summary>How far into a request line detection looks before it gives up and says opaque.</summary>
    public const int MaxRequestLineScan = 8 * 1024;

    private static ReadOnlySpan<byte> Http2Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    private static ReadOnlySpan<byte> Http10 => "HTTP/1.0"u8;

    private static ReadOnlySpan<byte> Http11 => "HTTP/1.1"u8;

    /// <summary>
    /// Returns the protocol, or <see cref="DetectedProtocol.Unknown"/> when more bytes are
    /// needed to decide. <paramref name="isCompleted"/> says no more bytes will come: then
    /// whatever cannot be recognised is opaque.
    /// </summary>
    public static DetectedProtocol Detect(in ReadOnlySequence<byte> buffer, bool isCompleted)
    {
        if (buffer.IsEmpty)
        {
            return isCompleted ? DetectedProtocol.Opaque : DetectedProtocol.Unknown;
        }

        // Detection never looks past the scan limit, so when the first bytes arrived in
        // pieces a bounded stack copy puts them on one span for the checks below.
        var length = (int)Math.Min(buffer.Length, MaxRequestLineScan);
        var contiguous = buffer.FirstSpan.Length >= length;
        Span<byte> copy = contiguous ? [] : stackalloc byte[length];
        if (!contiguous)
        {
            buffer.Slice(0, length).CopyTo(copy);
        }

        ReadOnlySpan<byte> prefix = contiguous ? buffer.FirstSpan[..length] : copy;

        var result = Classify(prefix, buffer.Length > MaxRequestLineScan);
        return result == DetectedProtocol.Unknown && isCompleted ? DetectedProtocol.Opaque : result;
    }

    private static DetectedProtocol Classify(ReadOnlySpan<byte> bytes, bool scanLimitReached)
    {
        if (bytes[0] == (byte)'P')
        {
            var compared = Math.Min(bytes.Length, Http2Preface.Length);
            if (bytes[..compared].SequenceEqual(Http2Preface[..compared]))
            {
                return compared == Http2Preface.Length ? DetectedProtocol.Http2 : DetectedProtocol.Unknown;
            }
        }

        if (bytes[0] == 0x16)
        {
            return ClassifyTls(bytes);
        }

        return ClassifyHttp1(bytes, scanLimitReached);
    }

    /// <summary>A TLS record header: handshake (22), version major 3, minor 0..4.</summary>
    private static DetectedProtocol ClassifyTls(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 3)
        {
            return bytes.Length < 2 || bytes[1] == 0x03 ? DetectedProtocol.Unknown : DetectedProtocol.Opaque;
        }

        return bytes[1] == 0x03 && bytes[2] <= 0x04 ? DetectedProtocol.Tls : DetectedProtocol.Opaque;
    }

    /// <summary>
    /// <c>method SP request-target SP HTTP/1.x CRLF</c> (RFC 9112 §3). The method must be a
    /// token; the line must end in a known version. Anything else is opaque as soon as it
    /// can no longer become a request line, so a binary protocol is not held up.
    /// </summary>
    private static DetectedProtocol ClassifyHttp1(ReadOnlySpan<byte> bytes, bool scanLimitReached)
    {
        var methodEnd = 0;
        while (methodEnd < bytes.Length && HttpChars.IsTokenChar(bytes[methodEnd]))
        {
            methodEnd++;
        }

        if (methodEnd == bytes.Length)
        {
            return scanLimitReached ? DetectedProtocol.Opaque : DetectedProtocol.Unknown;
        }

        if (methodEnd == 0 || bytes[methodEnd] != (byte)' ')
        {
            return DetectedProtocol.Opaque;
        }

        var lineEnd = bytes.IndexOf((byte)'\n');
        if (lineEnd < 0)
        {
            // Still inside the request target: it may contain anything but control characters.
            foreach (var b in bytes[(methodEnd + 1)..])
            {
                if (b < 0x20 && b != (byte)'\r')
                {
                    return DetectedProtocol.Opaque;
                }
            }

            // A request line this long is still HTTP when its target has HTTP's form: the
            // HTTP/1 layer answers it with 414, where opaque forwarding would hand an oversized
            // request to the application unchecked and uncounted.
            return scanLimitReached
                ? LooksLikeRequestTarget(bytes[(methodEnd + 1)..]) ? DetectedProtocol.Http1 : DetectedProtocol.Opaque
                : DetectedProtocol.Unknown;
        }

        var line = bytes[..lineEnd];
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.Length < methodEnd + 1 + 1 + 1 + Http11.Length)
        {
            return DetectedProtocol.Opaque;
        }

        var version = line[^Http11.Length..];
        var isHttp1 = line[^(Http11.Length + 1)] == (byte)' ' && (version.SequenceEqual(Http11) || version.SequenceEqual(Http10));
        return isHttp1 ? DetectedProtocol.Http1 : DetectedProtocol.Opaque;
    }

    /// <summary>Origin form (<c>/path</c>) or absolute form (<c>http://</c>, <c>https://</c>), RFC 9112 §3.2.</summary>
    private static bool LooksLikeRequestTarget(ReadOnlySpan<byte> target) =>
        target.StartsWith("/"u8)
        || (target.Length >= 7 && Ascii.EqualsIgnoreCase(target[..7], "http://"u8))
        || (target.Length >= 8 && Ascii.EqualsIgnoreCase(target[..8], "https://"u8));
}
