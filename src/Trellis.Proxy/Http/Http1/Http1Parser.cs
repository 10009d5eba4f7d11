using System.Buffers;
using System.Text;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Parses a complete, contiguous HTTP/1 head (found by <see cref="Http1HeadScanner"/>) into
/// offsets, validating it as RFC 9112 asks of a server, strictly: a proxy that accepts what
/// the server behind it might read differently is a request-smuggling vector, so framing is
/// never guessed. Hand-written rather than Kestrel's parser because that one is internal and
/// drives an HttpContext, the per-request cost this path exists to avoid.
/// </summary>
internal static class Http1Parser
{
    private static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // Field values may hold VCHAR, obs-text, SP and HTAB; every other control byte is refused.
    private static readonly SearchValues<byte> InvalidValueChars = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127]);

    /// <summary>Parses a request head; on success <paramref name="head"/> describes it and its body framing.</summary>
    public static Http1ParseError ParseRequest(ReadOnlySpan<byte> bytes, Http1Head head)
    {
        head.Reset();
        var lineEnd = bytes.IndexOf("\r\n"u8);
        var line = bytes[..lineEnd];
        head.StartLineEnd = lineEnd + 2;

        var sp = line.IndexOf((byte)' ');
        if (sp <= 0 || line[..sp].ContainsAnyExcept(TokenChars))
        {
            return Http1ParseError.InvalidRequestLine;
        }

        var method = line[..sp];
        var rest = line[(sp + 1)..];
        sp = rest.IndexOf((byte)' ');
        if (sp <= 0 || rest[..sp].ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            return Http1ParseError.InvalidRequestLine;
        }

        var version = rest[(sp + 1)..];
        var error = ParseVersion(version, head);
        if (error != Http1ParseError.None)
        {
            return error;
        }

        if (method.SequenceEqual("CONNECT"u8))
        {
            // A transparent proxy forwards to where the client already meant to go; tunnelling
            // through it to a third address would bypass the mesh's destination and policy.
            return Http1ParseError.UnsupportedMethod;
        }

        head.IsHeadMethod = method.SequenceEqual("HEAD"u8);
        error = ParseHeaders(bytes, head);
        if (error != Http1ParseError.None)
        {
            return error;
        }

        if (head.VersionMinor == 1 && head.HostIndex < 0)
        {
            return Http1ParseError.MissingHost;
        }

        if (head.HasTransferEncoding)
        {
            if (head.VersionMinor == 0)
            {
                return Http1ParseError.TransferEncodingInHttp10;
            }

            if (head.ContentLength >= 0)
            {
                return Http1ParseError.ContentLengthAndTransferEncoding;
            }

            if (!head.Chunked)
            {
                return Http1ParseError.UnsupportedTransferEncoding;
            }

            head.Framing = Http1BodyFraming.Chunked;
        }
        else
        {
            head.Framing = head.ContentLength > 0 ? Http1BodyFraming.ContentLength : Http1BodyFraming.None;
        }

        return Http1ParseError.None;
    }

    /// <summary>Parses a response head; <paramref name="requestWasHead"/> decides whether a body follows.</summary>
    public static Http1ParseError ParseResponse(ReadOnlySpan<byte> bytes, Http1Head head, bool requestWasHead)
    {
        head.Reset();
        var lineEnd = bytes.IndexOf("\r\n"u8);
        var line = bytes[..lineEnd];
        head.StartLineEnd = lineEnd + 2;
        if (line.Length < 12 || line[8] != (byte)' ' || ParseVersion(line[..8], head) != Http1ParseError.None)
        {
            return Http1ParseError.InvalidStatusLine;
        }

        var status = 0;
        for (var i = 9; i < 12; i++)
        {
            var digit = line[i] - (byte)'0';
            if ((uint)digit > 9)
            {
                return Http1ParseError.InvalidStatusLine;
            }

            status = (status * 10) + digit;
        }

        if (status < 100 || (line.Length > 12 && line[12] != (byte)' ') || line[12..].ContainsAny(InvalidValueChars))
        {
            return Http1ParseError.InvalidStatusLine;
        }

        head.StatusCode = status;
        var error = ParseHeaders(bytes, head);
        if (error != Http1ParseError.None)
        {
            return error;
        }

        if (head.HasTransferEncoding && head.ContentLength >= 0)
        {
            return Http1ParseError.ContentLengthAndTransferEncoding;
        }

        if (requestWasHead || status < 200 || status == 204 || status == 304)
        {
            head.Framing = Http1BodyFraming.None;
        }
        else if (head.HasTransferEncoding)
        {
            head.Framing = head.Chunked ? Http1BodyFraming.Chunked : Http1BodyFraming.UntilClose;
        }
        else if (head.ContentLength >= 0)
        {
            head.Framing = head.ContentLength > 0 ? Http1BodyFraming.ContentLength : Http1BodyFraming.None;
        }
        else
        {
            head.Framing = Http1BodyFraming.UntilClose;
        }

        return Http1ParseError.None;
    }

    private static Http1ParseError ParseVersion(ReadOnlySpan<byte> version, Http1Head head)
    {
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            head.VersionMinor = 1;
            return Http1ParseError.None;
        }

        if (version.SequenceEqual("HTTP/1.0"u8))
        {
            head.VersionMinor = 0;
            return Http1ParseError.None;
        }

        return version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5])
            && version[6] == (byte)'.' && char.IsAsciiDigit((char)version[7])
            ? Http1ParseError.UnsupportedVersion
            : Http1ParseError.InvalidRequestLine;
    }

    private static Http1ParseError ParseHeaders(ReadOnlySpan<byte> bytes, Http1Head head)
    {
        var start = head.StartLineEnd;
        while (true)
        {
            var length = bytes[start..].IndexOf("\r\n"u8);
            if (length == 0)
            {
                return Http1ParseError.None;
            }

            var line = bytes.Slice(start, length);
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                return Http1ParseError.ObsoleteLineFolding;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].ContainsAnyExcept(TokenChars))
            {
                return Http1ParseError.InvalidHeaderName;
            }

            var value = line[(colon + 1)..];
            if (value.ContainsAny(InvalidValueChars))
            {
                return Http1ParseError.InvalidHeaderValue;
            }

            var leading = value.Length - value.TrimStart(" \t"u8).Length;
            value = value.Trim(" \t"u8);
            var entry = new Http1HeaderEntry
            {
                LineStart = start,
                LineEnd = start + length + 2,
                NameLength = colon,
                ValueStart = start + colon + 1 + leading,
                ValueLength = value.Length,
                Kind = Classify(line[..colon]),
            };

            var error = Apply(head, entry.Kind, value, head.HeaderCount);
            if (error != Http1ParseError.None)
            {
                return error;
            }

            if (!head.TryAdd(entry))
            {
                return Http1ParseError.TooManyHeaders;
            }

            start = entry.LineEnd;
        }
    }

    private static Http1ParseError Apply(Http1Head head, Http1HeaderKind kind, ReadOnlySpan<byte> value, int index)
    {
        switch (kind)
        {
            case Http1HeaderKind.Host:
                if (head.HostIndex >= 0)
                {
                    return Http1ParseError.MultipleHosts;
                }

                head.HostIndex = index;
                return Http1ParseError.None;
            case Http1HeaderKind.ContentLength:
                return ApplyContentLength(head, value);
            case Http1HeaderKind.TransferEncoding:
                return ApplyTransferEncoding(head, value);
            case Http1HeaderKind.Connection:
                ApplyConnection(head, value);
                return Http1ParseError.None;
            case Http1HeaderKind.Upgrade:
                head.HasUpgradeHeader = true;
                return Http1ParseError.None;
            default:
                return Http1ParseError.None;
        }
    }

    // Content-Length may repeat (as fields or a list) only with one value throughout.
    private static Http1ParseError ApplyContentLength(Http1Head head, ReadOnlySpan<byte> value)
    {
        foreach (var range in value.Split((byte)','))
        {
            var item = value[range].Trim(" \t"u8);
            if (item.IsEmpty || item.Length > 18 || item.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return Http1ParseError.InvalidContentLength;
            }

            long length = 0;
            foreach (var digit in item)
            {
                length = (length * 10) + (digit - '0');
            }

            if (head.ContentLength >= 0 && head.ContentLength != length)
            {
                return Http1ParseError.ConflictingContentLength;
            }

            head.ContentLength = length;
        }

        return Http1ParseError.None;
    }

    // The final coding must be chunked (or the body length is unknowable for a request), and
    // chunked may appear only once.
    private static Http1ParseError ApplyTransferEncoding(Http1Head head, ReadOnlySpan<byte> value)
    {
        var any = false;
        foreach (var range in value.Split((byte)','))
        {
            var coding = value[range];
            var semicolon = coding.IndexOf((byte)';');
            if (semicolon >= 0)
            {
                coding = coding[..semicolon];
            }

            coding = coding.Trim(" \t"u8);
            if (coding.IsEmpty)
            {
                continue;
            }

            if (head.Chunked || coding.ContainsAnyExcept(TokenChars))
            {
                // Anything after chunked (or a malformed coding) makes the framing unknowable.
                return Http1ParseError.UnsupportedTransferEncoding;
            }

            any = true;
            head.HasTransferEncoding = true;
            head.Chunked = Ascii.EqualsIgnoreCase(coding, "chunked"u8);
        }

        return any ? Http1ParseError.None : Http1ParseError.UnsupportedTransferEncoding;
    }

    private static void ApplyConnection(Http1Head head, ReadOnlySpan<byte> value)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim(" \t"u8);
            if (token.IsEmpty)
            {
                continue;
            }

            if (Ascii.EqualsIgnoreCase(token, "close"u8))
            {
                head.ConnectionClose = true;
            }
            else if (Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
            {
                head.ConnectionKeepAlive = true;
            }
            else if (Ascii.EqualsIgnoreCase(token, "upgrade"u8))
            {
                head.ConnectionUpgrade = true;
            }
            else
            {
                head.ConnectionNamesOthers = true;
            }
        }
    }

    internal static Http1HeaderKind Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "te"u8) => Http1HeaderKind.Te,
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => Http1HeaderKind.Host,
        6 when Ascii.EqualsIgnoreCase(name, "expect"u8) => Http1HeaderKind.Expect,
        7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8) => Http1HeaderKind.Upgrade,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) => Http1HeaderKind.Connection,
        10 when Ascii.EqualsIgnoreCase(name, "keep-alive"u8) => Http1HeaderKind.KeepAlive,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => Http1HeaderKind.ContentLength,
        16 when Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) => Http1HeaderKind.ProxyConnection,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => Http1HeaderKind.TransferEncoding,
        _ => Http1HeaderKind.Other,
    };
}
