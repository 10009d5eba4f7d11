using System.Buffers;
using System.Text;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Tests.Http.Http2.Frames;

public class Http2FrameWriterTests
{
    [Fact]
    public void ClientPreface_IsTheRfcString()
    {
        Assert.Equal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Encoding.ASCII.GetString(Http2FrameWriter.ClientPreface));
    }

    [Fact]
    public void WriteSettings_RoundTrips()
    {
        var output = new ArrayBufferWriter<byte>();
        (Http2SettingId, uint)[] written =
        [
            (Http2SettingId.MaxConcurrentStreams, 250),
            (Http2SettingId.InitialWindowSize, 1 << 20),
            (Http2SettingId.EnablePush, 0),
        ];

        Http2FrameWriter.WriteSettings(output, written);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(18, Http2FrameType.Settings, Http2FrameFlags.None, 0), header);
        var settings = Http2PeerSettings.Default;
        Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(payload), ref settings);
        Assert.Equal(250, settings.MaxConcurrentStreams);
        Assert.Equal(1 << 20, settings.InitialWindowSize);
        Assert.False(settings.EnablePush);
    }

    [Fact]
    public void WriteSettingsAck_IsAnEmptySettingsFrameWithAck()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteSettingsAck(output);

        var (header, _) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0), header);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WritePing_RoundTrips(bool ack)
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WritePing(output, ack, 0x0102_0304_0506_0708);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(Http2FrameType.Ping, header.Type);
        Assert.Equal(0, header.StreamId);
        Assert.Equal(ack, header.HasFlag(Http2FrameFlags.Ack));
        Assert.Equal(0x0102_0304_0506_0708UL, Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(payload)));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, Http2FrameWriter.MaxWindowSize)]
    public void WriteWindowUpdate_RoundTrips(int streamId, int increment)
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteWindowUpdate(output, streamId, increment);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(4, Http2FrameType.WindowUpdate, Http2FrameFlags.None, streamId), header);
        Assert.Equal(increment, Http2FrameReader.ReadWindowIncrement(new ReadOnlySequence<byte>(payload)));
    }

    [Fact]
    public void WriteRstStream_RoundTrips()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteRstStream(output, 7, Http2ErrorCode.Cancel);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(4, Http2FrameType.RstStream, Http2FrameFlags.None, 7), header);
        Assert.Equal(Http2ErrorCode.Cancel, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(payload)));
    }

    [Fact]
    public void WriteGoAway_RoundTrips()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteGoAway(output, 41, Http2ErrorCode.ProtocolError);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(8, Http2FrameType.GoAway, Http2FrameFlags.None, 0), header);
        Assert.Equal((41, Http2ErrorCode.ProtocolError), Http2FrameReader.ReadGoAway(new ReadOnlySequence<byte>(payload)));
    }

    [Fact]
    public void WriteHeaders_SmallBlock_IsOneHeadersFrameWithEndHeadersAndEndStream()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteHeaders(output, 1, [0x82, 0x86, 0x84], endStream: true, Http2FrameWriter.DefaultMaxFrameSize);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(3, Http2FrameType.Headers, Http2FrameFlags.EndHeaders | Http2FrameFlags.EndStream, 1), header);
        Assert.Equal(new byte[] { 0x82, 0x86, 0x84 }, Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>(payload)).ToArray());
    }

    [Fact]
    public void WriteHeaders_EmptyBlock_IsOneEmptyHeadersFrame()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteHeaders(output, 5, ReadOnlySpan<byte>.Empty, endStream: false, Http2FrameWriter.DefaultMaxFrameSize);

        var (header, _) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(0, Http2FrameType.Headers, Http2FrameFlags.EndHeaders, 5), header);
    }

    [Theory]
    [InlineData(40_000, 3)]
    [InlineData(32_768, 2)]
    [InlineData(16_385, 2)]
    public void WriteHeaders_LargeBlock_SplitsIntoContinuations(int blockLength, int frameCount)
    {
        var block = Pattern(blockLength);
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteHeaders(output, 3, block.AsSpan(), endStream: true, 16384);

        AssertHeaderFrames(ReadSegmented(output), block, frameCount);
    }

    [Fact]
    public void WriteData_LargeSequence_SplitsWithEndStreamOnTheLastFrameOnly()
    {
        var data = Pattern(40_000);
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteData(output, 9, SegmentedSequence.Create(data, 3000), endStream: true, 16384);

        var frames = ReadSegmented(output);
        Assert.Equal(3, frames.Count);
        Assert.Equal(new Http2FrameHeader(16384, Http2FrameType.Data, Http2FrameFlags.None, 9), frames[0].Header);
        Assert.Equal(new Http2FrameHeader(16384, Http2FrameType.Data, Http2FrameFlags.None, 9), frames[1].Header);
        Assert.Equal(new Http2FrameHeader(40_000 - 32_768, Http2FrameType.Data, Http2FrameFlags.EndStream, 9), frames[2].Header);
        Assert.Equal(data, frames[0].Payload.Concat(frames[1].Payload).Concat(frames[2].Payload).ToArray());
    }

    [Fact]
    public void WriteData_WithoutEndStream_SetsNoFlags()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteData(output, 1, new ReadOnlySequence<byte>([1, 2]), endStream: false, 16384);

        var (header, payload) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(2, Http2FrameType.Data, Http2FrameFlags.None, 1), header);
        Assert.Equal(new byte[] { 1, 2 }, payload);
    }

    [Fact]
    public void WriteData_EmptyWithEndStream_WritesOneEmptyFrame()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteData(output, 1, ReadOnlySequence<byte>.Empty, endStream: true, 16384);

        var (header, _) = Assert.Single(ReadSegmented(output));
        Assert.Equal(new Http2FrameHeader(0, Http2FrameType.Data, Http2FrameFlags.EndStream, 1), header);
    }

    [Fact]
    public void WriteData_EmptyWithoutEndStream_WritesNothing()
    {
        var output = new ArrayBufferWriter<byte>();

        Http2FrameWriter.WriteData(output, 1, ReadOnlySequence<byte>.Empty, endStream: false, 16384);

        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Writers_SmallBufferWriter_WritePayloadsAcrossBuffers()
    {
        var data = Pattern(5000);
        var output = new SmallBufferWriter(100);

        Http2FrameWriter.WriteData(output, 1, new ReadOnlySequence<byte>(data), endStream: true, 16384);

        var (header, payload) = Assert.Single(FrameBytes.ReadAll(new ReadOnlySequence<byte>(output.Written.ToArray())));
        Assert.Equal(5000, header.Length);
        Assert.Equal(data, payload);
    }

    private static List<(Http2FrameHeader Header, byte[] Payload)> ReadSegmented(ArrayBufferWriter<byte> output)
    {
        return FrameBytes.ReadAll(SegmentedSequence.Create(output.WrittenSpan.ToArray(), 7));
    }

    private static void AssertHeaderFrames(List<(Http2FrameHeader Header, byte[] Payload)> frames, byte[] block, int frameCount)
    {
        Assert.Equal(frameCount, frames.Count);
        Assert.Equal(new Http2FrameHeader(16384, Http2FrameType.Headers, Http2FrameFlags.EndStream, 3), frames[0].Header);
        for (var i = 1; i < frameCount - 1; i++)
        {
            Assert.Equal(new Http2FrameHeader(16384, Http2FrameType.Continuation, Http2FrameFlags.None, 3), frames[i].Header);
        }

        Assert.Equal(new Http2FrameHeader(block.Length - (16384 * (frameCount - 1)), Http2FrameType.Continuation, Http2FrameFlags.EndHeaders, 3), frames[^1].Header);
        var joined = new List<byte>();
        foreach (var (header, payload) in frames)
        {
            joined.AddRange(Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>(payload)).ToArray());
        }

        Assert.Equal(block, joined.ToArray());
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 7);
        }

        return bytes;
    }

    // Hands out buffers of a fixed small size, as a pipe with small segments would.
    private sealed class SmallBufferWriter(int bufferSize) : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[] _buffer = [];

        public IReadOnlyList<byte> Written => _written;

        public void Advance(int count) => _written.AddRange(_buffer.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            _buffer = new byte[Math.Max(sizeHint, bufferSize)];
            return _buffer;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
