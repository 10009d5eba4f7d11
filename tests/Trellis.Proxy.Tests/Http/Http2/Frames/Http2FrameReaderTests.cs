using System.Buffers;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Tests.Http.Http2.Frames;

public class Http2FrameReaderTests
{
    [Fact]
    public void TryReadFrame_WholeFrame_SlicesHeaderAndPayloadOff()
    {
        var bytes = FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.EndStream, 3, 1, 2, 3)
            .Concat(new byte[] { 0xAA }).ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out var payload));

        Assert.Equal(new Http2FrameHeader(3, Http2FrameType.Data, Http2FrameFlags.EndStream, 3), header);
        Assert.Equal(new byte[] { 1, 2, 3 }, payload.ToArray());
        Assert.Equal(new byte[] { 0xAA }, buffer.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)]
    public void TryReadFrame_SegmentedBuffer_ReadsEveryFrame(int segmentSize)
    {
        var bytes = FrameBytes.Frame(Http2FrameType.Headers, Http2FrameFlags.EndHeaders, 1, 0x82, 0x86)
            .Concat(FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.None, 1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
            .Concat(FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.EndStream, 1))
            .ToArray();

        var frames = FrameBytes.ReadAll(SegmentedSequence.Create(bytes, segmentSize));

        Assert.Equal(3, frames.Count);
        Assert.Equal(new Http2FrameHeader(2, Http2FrameType.Headers, Http2FrameFlags.EndHeaders, 1), frames[0].Header);
        Assert.Equal(new byte[] { 0x82, 0x86 }, frames[0].Payload);
        Assert.Equal(new byte[] { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 }, frames[1].Payload);
        Assert.Equal(new Http2FrameHeader(0, Http2FrameType.Data, Http2FrameFlags.EndStream, 1), frames[2].Header);
    }

    [Fact]
    public void TryReadFrame_ReservedBitSet_IsMaskedFromStreamId()
    {
        var buffer = new ReadOnlySequence<byte>(FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.None, 0x8000_0005));

        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out _));

        Assert.Equal(5, header.StreamId);
    }

    [Fact]
    public void TryReadFrame_UnknownType_IsReturnedForTheCallerToIgnore()
    {
        var buffer = new ReadOnlySequence<byte>(FrameBytes.Frame((Http2FrameType)0xFA, Http2FrameFlags.None, 0, 1));

        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out _));

        Assert.Equal((Http2FrameType)0xFA, header.Type);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public void TryReadFrame_PartialHeader_ReturnsFalseWithoutConsuming(int available)
    {
        var bytes = FrameBytes.Frame(Http2FrameType.Ping, Http2FrameFlags.None, 0, new byte[8]);
        var buffer = new ReadOnlySequence<byte>(bytes, 0, available);
        var before = buffer;

        Assert.False(Http2FrameReader.TryReadFrame(ref buffer, 16384, out _, out _));

        Assert.Equal(before, buffer);
    }

    [Fact]
    public void TryReadFrame_PartialPayload_ReturnsFalseWithoutConsuming()
    {
        var bytes = FrameBytes.Frame(Http2FrameType.Ping, Http2FrameFlags.None, 0, new byte[8]);
        var buffer = SegmentedSequence.Create(bytes[..^1], 4);
        var before = buffer;

        Assert.False(Http2FrameReader.TryReadFrame(ref buffer, 16384, out _, out _));

        Assert.Equal(before, buffer);
    }

    [Fact]
    public void TryReadFrame_LengthAboveMaxFrameSize_ThrowsFrameSizeErrorOnceTheHeaderIsIn()
    {
        var header = FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.None, 1, new byte[16385])[..Http2FrameHeader.Size];
        var buffer = new ReadOnlySequence<byte>(header);

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.TryReadFrame(ref buffer, 16384, out _, out _));

        Assert.Equal(Http2ErrorCode.FrameSizeError, error.Code);
    }

    [Fact]
    public void TryReadFrame_LengthEqualToMaxFrameSize_IsAccepted()
    {
        var buffer = new ReadOnlySequence<byte>(FrameBytes.Frame(Http2FrameType.Data, Http2FrameFlags.None, 1, new byte[16384]));

        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out var payload));

        Assert.Equal(16384, header.Length);
        Assert.Equal(16384, payload.Length);
    }

    [Fact]
    public void DataPayload_Padded_StripsPadLengthAndPadding()
    {
        var header = new Http2FrameHeader(7, Http2FrameType.Data, Http2FrameFlags.Padded, 1);
        var payload = SegmentedSequence.Create([3, 0xA, 0xB, 0xC, 0, 0, 0], 2);

        Assert.Equal(new byte[] { 0xA, 0xB, 0xC }, Http2FrameReader.DataPayload(header, payload).ToArray());
    }

    [Fact]
    public void DataPayload_PaddingFillsThePayload_LeavesNoData()
    {
        var header = new Http2FrameHeader(3, Http2FrameType.Data, Http2FrameFlags.Padded, 1);

        Assert.True(Http2FrameReader.DataPayload(header, new ReadOnlySequence<byte>([2, 0, 0])).IsEmpty);
    }

    [Fact]
    public void DataPayload_NotPadded_IsTheWholePayload()
    {
        var header = new Http2FrameHeader(2, Http2FrameType.Data, Http2FrameFlags.EndStream, 1);

        Assert.Equal(new byte[] { 3, 0 }, Http2FrameReader.DataPayload(header, new ReadOnlySequence<byte>([3, 0])).ToArray());
    }

    [Fact]
    public void DataPayload_PaddingLongerThanPayload_ThrowsProtocolError()
    {
        var header = new Http2FrameHeader(3, Http2FrameType.Data, Http2FrameFlags.Padded, 1);

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.DataPayload(header, new ReadOnlySequence<byte>([3, 0, 0])));

        Assert.Equal(Http2ErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public void DataPayload_PaddedWithoutPadLength_ThrowsFrameSizeError()
    {
        var header = new Http2FrameHeader(0, Http2FrameType.Data, Http2FrameFlags.Padded, 1);

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.DataPayload(header, ReadOnlySequence<byte>.Empty));

        Assert.Equal(Http2ErrorCode.FrameSizeError, error.Code);
    }

    [Fact]
    public void HeaderBlockFragment_PaddedWithPriority_StripsBoth()
    {
        var header = new Http2FrameHeader(11, Http2FrameType.Headers, Http2FrameFlags.Padded | Http2FrameFlags.Priority | Http2FrameFlags.EndHeaders, 1);
        byte[] payload = [2, 0x80, 0, 0, 3, 15, 0x82, 0x86, 0x84, 0, 0];

        var fragment = Http2FrameReader.HeaderBlockFragment(header, SegmentedSequence.Create(payload, 3));

        Assert.Equal(new byte[] { 0x82, 0x86, 0x84 }, fragment.ToArray());
    }

    [Fact]
    public void HeaderBlockFragment_PriorityOnly_StripsThePriorityFields()
    {
        var header = new Http2FrameHeader(6, Http2FrameType.Headers, Http2FrameFlags.Priority, 1);

        var fragment = Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>([0, 0, 0, 0, 16, 0x82]));

        Assert.Equal(new byte[] { 0x82 }, fragment.ToArray());
    }

    [Fact]
    public void HeaderBlockFragment_Continuation_IgnoresUndefinedFlags()
    {
        var header = new Http2FrameHeader(2, Http2FrameType.Continuation, Http2FrameFlags.Padded | Http2FrameFlags.Priority, 1);

        var fragment = Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>([5, 0x82]));

        Assert.Equal(new byte[] { 5, 0x82 }, fragment.ToArray());
    }

    [Fact]
    public void HeaderBlockFragment_PaddingLongerThanFragment_ThrowsProtocolError()
    {
        var header = new Http2FrameHeader(8, Http2FrameType.Headers, Http2FrameFlags.Padded | Http2FrameFlags.Priority, 1);

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>([3, 0, 0, 0, 0, 0, 0x82, 0])));

        Assert.Equal(Http2ErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public void HeaderBlockFragment_TooShortForPriority_ThrowsFrameSizeError()
    {
        var header = new Http2FrameHeader(4, Http2FrameType.Headers, Http2FrameFlags.Priority, 1);

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.HeaderBlockFragment(header, new ReadOnlySequence<byte>([0, 0, 0, 0])));

        Assert.Equal(Http2ErrorCode.FrameSizeError, error.Code);
    }

    [Fact]
    public void ReadWindowIncrement_ReservedBitSet_IsMasked()
    {
        Assert.Equal(0x10, Http2FrameReader.ReadWindowIncrement(SegmentedSequence.Create([0x80, 0, 0, 0x10], 1)));
    }

    [Fact]
    public void ReadGoAway_WithDebugData_ReadsLastStreamAndCode()
    {
        var (lastStreamId, code) = Http2FrameReader.ReadGoAway(
            new ReadOnlySequence<byte>([0x80, 0, 0, 7, 0, 0, 0, 11, (byte)'b', (byte)'y', (byte)'e']));

        Assert.Equal(7, lastStreamId);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, code);
    }

    [Fact]
    public void ReadFixedSizePayloads_WrongLength_ThrowFrameSizeError()
    {
        var three = new ReadOnlySequence<byte>(new byte[3]);
        var five = new ReadOnlySequence<byte>(new byte[5]);
        var seven = new ReadOnlySequence<byte>(new byte[7]);

        Assert.Equal(Http2ErrorCode.FrameSizeError, Assert.Throws<Http2ConnectionException>(() => Http2FrameReader.ReadWindowIncrement(five)).Code);
        Assert.Equal(Http2ErrorCode.FrameSizeError, Assert.Throws<Http2ConnectionException>(() => Http2FrameReader.ReadRstStream(three)).Code);
        Assert.Equal(Http2ErrorCode.FrameSizeError, Assert.Throws<Http2ConnectionException>(() => Http2FrameReader.ReadGoAway(seven)).Code);
        Assert.Equal(Http2ErrorCode.FrameSizeError, Assert.Throws<Http2ConnectionException>(() => Http2FrameReader.ReadPing(seven)).Code);
    }
}
