using System.Buffers;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Finds where a message head ends (the empty line) in bytes that arrive in pieces, resuming
/// where the previous read stopped so a head trickled in byte by byte costs linear time. It
/// enforces the size limits as bytes arrive, before the head is complete, and rejects a bare
/// LF: lines end with CRLF only, so no two parsers can disagree on where a line ends.
/// </summary>
internal struct Http1HeadScanner
{
    private long _examined;
    private long _lineStart;
    private int _lines;
    private bool _previousWasCr;

    public void Reset() => this = default;

    /// <summary>
    /// Bytes of empty lines before a request line, which a server ignores (RFC 9112 section
    /// 2.2); the caller consumes them before scanning, as the scanner would take one for the
    /// start line.
    /// </summary>
    public static int LeadingEmptyLines(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var count = 0;
        while (reader.IsNext("\r\n"u8, advancePast: true))
        {
            count += 2;
        }

        return count;
    }

    /// <summary>Scans <paramref name="buffer"/> (the message from its first byte).</summary>
    /// <param name="headLength">The head's length, CRLFCRLF included, when complete.</param>
    /// <returns><see cref="Http1ParseError.None"/> with headLength 0 when more bytes are needed.</returns>
    public Http1ParseError Scan(in ReadOnlySequence<byte> buffer, int maxHead, int maxStartLine, int maxHeaders, out int headLength)
    {
        headLength = 0;
        var position = _examined;
        foreach (var memory in buffer.Slice(_examined))
        {
            var span = memory.Span;
            var index = 0;
            while (index < span.Length)
            {
                var found = span[index..].IndexOf((byte)'\n');
                if (found < 0)
                {
                    break;
                }

                index += found;
                var lf = position + index;
                var cr = index > 0 ? span[index - 1] == (byte)'\r' : _previousWasCr;
                if (!cr)
                {
                    return Http1ParseError.BareLineFeed;
                }

                if (lf + 1 > maxHead)
                {
                    return _lines == 0 ? Http1ParseError.RequestLineTooLong : Http1ParseError.HeadTooLarge;
                }

                if (lf == _lineStart + 1 && _lines > 0)
                {
                    headLength = (int)(lf + 1);
                    return Http1ParseError.None;
                }

                if (_lines == 0 && lf + 1 > maxStartLine)
                {
                    return Http1ParseError.RequestLineTooLong;
                }

                if (_lines > maxHeaders)
                {
                    return Http1ParseError.TooManyHeaders;
                }

                _lines++;
                _lineStart = lf + 1;
                index++;
            }

            position += span.Length;
            if (span.Length > 0)
            {
                _previousWasCr = span[^1] == (byte)'\r';
            }
        }

        _examined = position;
        if (_lines == 0 && position > maxStartLine)
        {
            return Http1ParseError.RequestLineTooLong;
        }

        return position >= maxHead ? Http1ParseError.HeadTooLarge : Http1ParseError.None;
    }
}
