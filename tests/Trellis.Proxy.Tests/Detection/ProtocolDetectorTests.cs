using System.Buffers;
using System.Text;
using Trellis.Proxy.Detection;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Detection;

public class ProtocolDetectorTests
{
    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n", DetectedProtocol.Http1)]
    [InlineData("POST /x?y=1 HTTP/1.0\r\n", DetectedProtocol.Http1)]
    [InlineData("PROPFIND /dav HTTP/1.1\r\n", DetectedProtocol.Http1)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", DetectedProtocol.Http2)]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n", DetectedProtocol.Opaque)]
    [InlineData("GET / HTTP/3.0\r\n", DetectedProtocol.Opaque)]
    [InlineData("GET /\r\n", DetectedProtocol.Opaque)]
    [InlineData("*1\r\n$4\r\nPING\r\n", DetectedProtocol.Opaque)]
    [InlineData(" GET / HTTP/1.1\r\n", DetectedProtocol.Opaque)]
    public void Detect_CompleteFirstLine_Classifies(string text, DetectedProtocol expected)
    {
        Assert.Equal(expected, ProtocolDetector.Detect(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), isCompleted: false));
    }

    [Fact]
    public void Detect_TlsClientHelloRecordHeader_IsTls()
    {
        byte[] hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];

        Assert.Equal(DetectedProtocol.Tls, ProtocolDetector.Detect(new ReadOnlySequence<byte>(hello), isCompleted: false));
    }

    [Fact]
    public void Detect_HandshakeByteWithBadVersion_IsOpaque()
    {
        byte[] bytes = [0x16, 0x07, 0x01];

        Assert.Equal(DetectedProtocol.Opaque, ProtocolDetector.Detect(new ReadOnlySequence<byte>(bytes), isCompleted: false));
    }

    [Theory]
    [InlineData("G")]
    [InlineData("GET")]
    [InlineData("GET /some/pa")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("PRI * HTTP/2.0\r\n")]
    [InlineData("P")]
    public void Detect_PrefixOfSomethingRecognisable_NeedsMoreData(string text)
    {
        Assert.Equal(DetectedProtocol.Unknown, ProtocolDetector.Detect(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), isCompleted: false));
    }

    [Fact]
    public void Detect_PrefixWhenClientFinishedSending_IsOpaque()
    {
        Assert.Equal(DetectedProtocol.Opaque, ProtocolDetector.Detect(new ReadOnlySequence<byte>("GET /"u8.ToArray()), isCompleted: true));
    }

    [Fact]
    public void Detect_NothingAndClientGone_IsOpaque()
    {
        Assert.Equal(DetectedProtocol.Opaque, ProtocolDetector.Detect(ReadOnlySequence<byte>.Empty, isCompleted: true));
        Assert.Equal(DetectedProtocol.Unknown, ProtocolDetector.Detect(ReadOnlySequence<byte>.Empty, isCompleted: false));
    }

    [Fact]
    public void Detect_RequestLineSplitAcrossSegments_IsHttp1()
    {
        var buffer = Segments("GE", "T /path HT", "TP/1.1\r", "\n");

        Assert.Equal(DetectedProtocol.Http1, ProtocolDetector.Detect(buffer, isCompleted: false));
    }

    [Fact]
    public void Detect_PrefaceSplitByteByByte_IsHttp2()
    {
        var buffer = Segments("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".Select(c => c.ToString()).ToArray());

        Assert.Equal(DetectedProtocol.Http2, ProtocolDetector.Detect(buffer, isCompleted: false));
    }

    [Theory]
    [InlineData("GET /")]
    [InlineData("GET http://web.test/")]
    [InlineData("POST HTTPS://web.test/")]
    public void Detect_RequestLineLongerThanScanLimit_IsHttp1SoItGets414(string start)
    {
        var text = start + new string('a', ProtocolDetector.MaxRequestLineScan) + " HTTP/1.1\r\n";

        Assert.Equal(DetectedProtocol.Http1, ProtocolDetector.Detect(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), isCompleted: false));
    }

    [Fact]
    public void Detect_LongTextLineWithoutRequestTarget_IsOpaque()
    {
        var text = "AUTH " + new string('a', ProtocolDetector.MaxRequestLineScan) + "\r\n";

        Assert.Equal(DetectedProtocol.Opaque, ProtocolDetector.Detect(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), isCompleted: false));
    }

    [Fact]
    public void Detect_ControlCharacterInTarget_IsOpaqueWithoutWaitingForLineEnd()
    {
        Assert.Equal(DetectedProtocol.Opaque, ProtocolDetector.Detect(new ReadOnlySequence<byte>("GET /\0\x01"u8.ToArray()), isCompleted: false));
    }

    /// <summary>A multi-segment sequence, as bytes arriving in separate reads produce.</summary>
    internal static ReadOnlySequence<byte> Segments(params string[] parts)
    {
        Segment? first = null;
        Segment? last = null;
        foreach (var part in parts)
        {
            var segment = new Segment(Encoding.ASCII.GetBytes(part));
            if (first is null)
            {
                first = segment;
            }
            else
            {
                last!.Append(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes)
        {
            Memory = bytes;
        }

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}
