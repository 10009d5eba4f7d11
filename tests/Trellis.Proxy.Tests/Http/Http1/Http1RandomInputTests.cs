using System.Buffers;
using System.Text;
using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>
/// Mutation tests of the HTTP/1 head scanner, parser and chunked scanner: thousands of heads
/// and bodies derived from valid ones by seeded random edits that favour the bytes framing
/// depends on (CR, LF, SP, HT, colon, comma, digits, NUL, DEL, obs-text) and the fields
/// request smuggling plays with. Each input is checked against a plain reference reading of
/// RFC 9112 written here, and against itself arriving in random pieces: a proxy that reads
/// one message two ways, or one way whole and another in pieces, is a smuggling vector.
/// </summary>
/// <remarks>
/// Bounded and seeded, so a failure names its seed and input and reproduces; not a
/// coverage-guided fuzzer (no SharpFuzz/AFL instrumentation on this machine's toolchain).
/// </remarks>
public class Http1RandomInputTests
{
    private const int Iterations = 4000;
    private const int MaxHeaders = 12;
    private const int MaxHead = 1024;
    private const int MaxStartLine = 256;
    private const int MaxChunkLine = 32;
    private const int MaxTrailers = 64;

    private static readonly string[] ValidHeads =
    [
        "GET / HTTP/1.1\r\nHost: web\r\n\r\n",
        "GET /a?b=c HTTP/1.1\r\nHost: web:8080\r\nAccept: */*\r\nUser-Agent: curl/8\r\n\r\n",
        "POST /submit HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: gzip, chunked\r\nConnection: keep-alive\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "HEAD /h HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "DELETE /item/7 HTTP/1.1\r\nHost: api\r\nContent-Length: 3, 3\r\nX-Empty:\r\n\r\n",
    ];

    private static readonly string[] TrickyFields =
    [
        "Content-Length: 5",
        "Content-Length: 6",
        "Content-Length: 5, 6",
        "Content-Length: +5",
        "Content-Length:  0005 ",
        "Content-Length: 99999999999999999999",
        "Content-Length : 5",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: Chunked",
        "Transfer-Encoding: \"chunked\"",
        "Transfer-Encoding:\tchunked",
        "Transfer-Encoding: ,",
        "Transfer-Encoding: gzip;q=1, chunked",
        "Transfer-Encoding: xchunked",
        "Host: other",
        "Host:",
        " folded: value",
        "\tX: y",
        "X: a\rb",
        "X: a\0b",
        "X:\u00ffobs",
        "Connection: close",
        "Connection: close, upgrade",
        ": no-name",
        "Bad Name: v",
    ];

    private static readonly byte[] Interesting = Encoding.Latin1.GetBytes("\r\n \t:,;0159aZ\"\0\u007f\u0080\u00ff");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RequestHeads_ParsedAsTheReferenceReadsThem_WholeOrInPieces(int seed)
    {
        var random = new Random(seed);
        var accepted = 0;
        var rejected = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var input = MutateHead(random);
            var whole = ScanLikeSession(input, [input.Length]);
            var pieces = ScanLikeSession(input, RandomArrivals(random, input.Length));
            var context = $"seed {seed}, iteration {i}: {Show(input)}";

            // Two limits crossed at once may be reported as either (414 or 400): the verdict and
            // where the head ends must not depend on how the bytes arrived.
            Assert.True(whole.HeadEnd == pieces.HeadEnd && (whole.Error == Http1ParseError.None) == (pieces.Error == Http1ParseError.None), context);
            if (whole.HeadEnd == 0)
            {
                continue;
            }

            var head = new Http1Head(MaxHeaders);
            var error = Http1Parser.ParseRequest(input.AsSpan(whole.Skipped, whole.HeadEnd - whole.Skipped), head);
            var expected = ReferenceRequest.Read(Encoding.Latin1.GetString(input, whole.Skipped, whole.HeadEnd - whole.Skipped));
            Assert.True((error == Http1ParseError.None) == expected.Valid, $"{context}: parser {error}, reference {expected.Reason}");
            if (error != Http1ParseError.None)
            {
                rejected++;
                continue;
            }

            accepted++;
            Assert.True(expected.Framing == head.Framing, $"{context}: framing {head.Framing}, reference {expected.Framing}");
            Assert.True(head.Framing != Http1BodyFraming.ContentLength || head.ContentLength == expected.ContentLength, context);
            Assert.Equal(expected.HasHost, head.HostIndex >= 0);
        }

        // The mutations must exercise both verdicts, or the test proves nothing.
        Assert.InRange(accepted, Iterations / 20, Iterations);
        Assert.InRange(rejected, Iterations / 20, Iterations);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ChunkedBodies_EndWhereTheReferenceEndsThem_WholeOrInPieces(int seed)
    {
        var random = new Random(seed);
        var accepted = 0;
        var rejected = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var input = MutateChunked(random);
            var context = $"seed {seed}, iteration {i}: {Show(input)}";
            var expected = ReferenceChunked.Read(input);
            var whole = ScanChunked(input, [input.Length]);
            var pieces = ScanChunked(input, RandomArrivals(random, input.Length));

            Assert.True(whole == pieces, $"{context}: whole {whole}, in pieces {pieces}");
            Assert.True(whole == expected, $"{context}: scanner {whole}, reference {expected}");
            if (expected.Error == Http1ParseError.None && expected.Done)
            {
                accepted++;
            }
            else if (expected.Error != Http1ParseError.None)
            {
                rejected++;
            }
        }

        Assert.InRange(accepted, Iterations / 20, Iterations);
        Assert.InRange(rejected, Iterations / 20, Iterations);
    }

    /// <summary>The request loop's use of the scanner: leading empty lines dropped, then scans over a growing buffer.</summary>
    private static (Http1ParseError Error, int Skipped, int HeadEnd) ScanLikeSession(byte[] input, int[] arrivals)
    {
        var scanner = default(Http1HeadScanner);
        var skipped = 0;
        foreach (var arrived in arrivals)
        {
            while (true)
            {
                var buffer = new ReadOnlySequence<byte>(input, skipped, arrived - skipped);
                var leading = Http1HeadScanner.LeadingEmptyLines(buffer);
                if (leading == 0)
                {
                    break;
                }

                skipped += leading;
                scanner.Reset();
            }

            var error = scanner.Scan(new ReadOnlySequence<byte>(input, skipped, arrived - skipped), MaxHead, MaxStartLine, MaxHeaders, out var headLength);
            if (error != Http1ParseError.None)
            {
                return (error, skipped, 0);
            }

            if (headLength > 0)
            {
                return (Http1ParseError.None, skipped, skipped + headLength);
            }
        }

        return (Http1ParseError.None, skipped, 0);
    }

    /// <summary>The body copier's use of the chunked scanner: each arrival scanned once, consumed bytes summed.</summary>
    private static (Http1ParseError Error, long Consumed, bool Done) ScanChunked(byte[] input, int[] arrivals)
    {
        var scanner = new Http1ChunkedScanner();
        scanner.Reset();
        long total = 0;
        var start = 0;
        foreach (var arrived in arrivals)
        {
            var error = scanner.Scan(new ReadOnlySequence<byte>(input, start, arrived - start), MaxChunkLine, MaxTrailers, out var consumed);
            total += consumed;
            if (error != Http1ParseError.None)
            {
                return (error, total, false);
            }

            if (scanner.IsDone)
            {
                return (Http1ParseError.None, total, true);
            }

            start = arrived;
        }

        return (Http1ParseError.None, total, false);
    }

    private static int[] RandomArrivals(Random random, int length)
    {
        var cuts = new SortedSet<int> { length };
        var count = random.Next(1, 6);
        for (var i = 0; i < count && length > 1; i++)
        {
            cuts.Add(random.Next(1, length));
        }

        return [.. cuts];
    }

    private static byte[] MutateHead(Random random)
    {
        var lines = ValidHeads[random.Next(ValidHeads.Length)].Split("\r\n").ToList();

        // lines: start line, fields, "", "" (the head's end).
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits; e++)
        {
            switch (random.Next(4))
            {
                case 0:
                    lines.Insert(random.Next(1, lines.Count - 1), TrickyFields[random.Next(TrickyFields.Length)]);
                    break;
                case 1 when lines.Count > 3:
                    lines.RemoveAt(random.Next(1, lines.Count - 2));
                    break;
                case 2:
                    var duplicate = random.Next(1, lines.Count - 2);
                    lines.Insert(duplicate, lines[duplicate]);
                    break;
                default:
                    break;
            }
        }

        var bytes = Encoding.Latin1.GetBytes(string.Join("\r\n", lines)).ToList();
        EditBytes(random, bytes);

        if (random.Next(8) == 0)
        {
            bytes.InsertRange(0, "\r\n"u8.ToArray());
        }

        // A body or a next request behind the head, which the scanner must not read into.
        bytes.AddRange("0\r\n\r\nGET / HTTP/1.1\r\n"u8.ToArray());
        return [.. bytes];
    }

    private static byte[] MutateChunked(Random random)
    {
        var body = new StringBuilder();
        var chunks = random.Next(0, 4);
        for (var c = 0; c < chunks; c++)
        {
            var size = random.Next(1, 40);
            body.Append(random.Next(3) == 0 ? size.ToString("X", null) : size.ToString("x", null));
            if (random.Next(4) == 0)
            {
                body.Append(random.Next(2) == 0 ? ";name=value" : " ;ext");
            }

            body.Append("\r\n").Append(new string('d', size)).Append("\r\n");
        }

        body.Append(random.Next(5) == 0 ? "000" : "0").Append("\r\n");
        if (random.Next(3) == 0)
        {
            body.Append("Trailer-Field: value\r\n");
        }

        body.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(body.ToString()).ToList();
        EditBytes(random, bytes);

        bytes.AddRange("NEXT"u8.ToArray());
        return [.. bytes];
    }

    /// <summary>Up to two random byte edits: one overwritten, inserted or removed, with bytes framing depends on.</summary>
    private static void EditBytes(Random random, List<byte> bytes)
    {
        var edits = random.Next(0, 3);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 1:
                    bytes.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                default:
                    bytes.RemoveAt(at);
                    break;
            }
        }
    }

    private static string Show(byte[] input) =>
        Encoding.Latin1.GetString(input).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal);

    /// <summary>RFC 9112's request head rules as a straightforward reading, independent of the parser's code.</summary>
    private static class ReferenceRequest
    {
        private const string TokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

        public static (bool Valid, string Reason, Http1BodyFraming Framing, long ContentLength, bool HasHost) Read(string head)
        {
            var lines = head[..^4].Split("\r\n");
            var requestLine = lines[0].Split(' ');
            if (requestLine.Length != 3 || !IsToken(requestLine[0]) || requestLine[1].Length == 0 || requestLine[1].Any(c => c < 0x21 || c > 0x7E))
            {
                return Invalid("request line");
            }

            if (requestLine[2] is not ("HTTP/1.1" or "HTTP/1.0"))
            {
                return Invalid("version");
            }

            if (requestLine[0] == "CONNECT")
            {
                return Invalid("CONNECT");
            }

            var http11 = requestLine[2] == "HTTP/1.1";
            var hosts = 0;
            long contentLength = -1;
            var codings = new List<string>();
            var fields = lines.Skip(1).ToArray();
            if (fields.Length > MaxHeaders)
            {
                return Invalid("too many fields");
            }

            foreach (var field in fields)
            {
                var colon = field.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || !IsToken(field[..colon]))
                {
                    return Invalid("field name");
                }

                var value = field[(colon + 1)..];
                if (value.Any(c => (c < 0x20 && c != '\t') || c == 0x7F))
                {
                    return Invalid("field value");
                }

                value = value.Trim(' ', '\t');
                switch (field[..colon].ToLowerInvariant())
                {
                    case "host":
                        hosts++;
                        break;
                    case "content-length":
                        foreach (var item in value.Split(',').Select(v => v.Trim(' ', '\t')))
                        {
                            if (item.Length is 0 or > 18 || !item.All(char.IsAsciiDigit))
                            {
                                return Invalid("content-length");
                            }

                            var length = long.Parse(item, null);
                            if (contentLength >= 0 && contentLength != length)
                            {
                                return Invalid("conflicting content-length");
                            }

                            contentLength = length;
                        }

                        break;
                    case "transfer-encoding":
                        var named = value.Split(',').Select(v => v.Split(';')[0].Trim(' ', '\t')).Where(v => v.Length > 0).ToArray();
                        if (named.Length == 0 || !named.All(IsToken))
                        {
                            return Invalid("transfer-encoding");
                        }

                        codings.AddRange(named);
                        break;
                    default:
                        break;
                }
            }

            if (hosts > 1 || (http11 && hosts == 0))
            {
                return Invalid("host");
            }

            if (codings.Count == 0)
            {
                return (true, "", contentLength > 0 ? Http1BodyFraming.ContentLength : Http1BodyFraming.None, contentLength, hosts == 1);
            }

            var chunked = codings.Select((c, i) => (c, i)).Where(x => x.c.Equals("chunked", StringComparison.OrdinalIgnoreCase)).ToArray();
            return !http11 ? Invalid("transfer-encoding in HTTP/1.0")
                : contentLength >= 0 ? Invalid("content-length and transfer-encoding")
                : chunked.Length != 1 || chunked[0].i != codings.Count - 1 ? Invalid("chunked not once and last")
                : (true, "", Http1BodyFraming.Chunked, -1, hosts == 1);
        }

        private static bool IsToken(string s) => s.Length > 0 && s.All(c => TokenChars.Contains(c, StringComparison.Ordinal));

        private static (bool, string, Http1BodyFraming, long, bool) Invalid(string reason) => (false, reason, Http1BodyFraming.None, -1, false);
    }

    /// <summary>RFC 9112 section 7.1's chunked grammar over a whole buffer, with the scanner's size limits.</summary>
    private static class ReferenceChunked
    {
        public static (Http1ParseError Error, long Consumed, bool Done) Read(byte[] input)
        {
            var at = 0;
            while (true)
            {
                var lineStart = at;
                long size = 0;
                var digits = 0;
                while (at < input.Length && HexValue(input[at]) >= 0)
                {
                    size = (size << 4) | (uint)HexValue(input[at++]);
                    if (++digits > 15 || at - lineStart > MaxChunkLine)
                    {
                        return Fail(Http1ParseError.InvalidChunk, at - 1);
                    }
                }

                if (at == input.Length)
                {
                    return (Http1ParseError.None, at, false);
                }

                if (digits == 0)
                {
                    return Fail(Http1ParseError.InvalidChunk, at);
                }

                if (input[at] != '\r')
                {
                    if (input[at] is not ((byte)';' or (byte)' ' or (byte)'\t'))
                    {
                        return Fail(Http1ParseError.InvalidChunk, at);
                    }

                    while (at < input.Length && input[at] != '\r')
                    {
                        if (at - lineStart + 1 > MaxChunkLine || !IsFieldByte(input[at]))
                        {
                            return Fail(Http1ParseError.InvalidChunk, at);
                        }

                        at++;
                    }
                }

                // The CR counts towards the line's length.
                if (at < input.Length && at - lineStart + 1 > MaxChunkLine)
                {
                    return Fail(Http1ParseError.InvalidChunk, at);
                }

                if (!Expect(input, ref at, (byte)'\r', out var result) || !Expect(input, ref at, (byte)'\n', out result))
                {
                    return result;
                }

                if (size == 0)
                {
                    return Trailers(input, at);
                }

                if (input.Length - at < size)
                {
                    return (Http1ParseError.None, input.Length, false);
                }

                at += (int)size;
                if (!Expect(input, ref at, (byte)'\r', out result) || !Expect(input, ref at, (byte)'\n', out result))
                {
                    return result;
                }
            }
        }

        private static (Http1ParseError, long, bool) Trailers(byte[] input, int at)
        {
            var trailerBytes = 0;
            while (true)
            {
                if (at == input.Length)
                {
                    return (Http1ParseError.None, at, false);
                }

                if (input[at] == '\r')
                {
                    at++;
                    return at == input.Length ? (Http1ParseError.None, at, false)
                        : input[at] == '\n' ? (Http1ParseError.None, at + 1, true)
                        : Fail(Http1ParseError.InvalidChunk, at);
                }

                if (input[at] is (byte)' ' or (byte)'\t')
                {
                    return ++trailerBytes > MaxTrailers ? Fail(Http1ParseError.TrailersTooLarge, at) : Fail(Http1ParseError.InvalidChunk, at);
                }

                while (at < input.Length && input[at] != '\r')
                {
                    if (++trailerBytes > MaxTrailers)
                    {
                        return Fail(Http1ParseError.TrailersTooLarge, at);
                    }

                    if (!IsFieldByte(input[at]))
                    {
                        return Fail(Http1ParseError.InvalidChunk, at);
                    }

                    at++;
                }

                if (!Expect(input, ref at, (byte)'\r', out var result) || !Expect(input, ref at, (byte)'\n', out result))
                {
                    return result;
                }
            }
        }

        /// <summary>False when the input ended (more needed) or held another byte (invalid); <paramref name="result"/> says which.</summary>
        private static bool Expect(byte[] input, ref int at, byte expected, out (Http1ParseError, long, bool) result)
        {
            if (at == input.Length)
            {
                result = (Http1ParseError.None, at, false);
                return false;
            }

            if (input[at] != expected)
            {
                result = Fail(Http1ParseError.InvalidChunk, at);
                return false;
            }

            at++;
            result = default;
            return true;
        }

        private static bool IsFieldByte(byte b) => b == '\t' || (b >= 0x20 && b != 0x7F);

        private static (Http1ParseError, long, bool) Fail(Http1ParseError error, int at) => (error, at, false);

        private static int HexValue(byte b) => b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };
    }
}
