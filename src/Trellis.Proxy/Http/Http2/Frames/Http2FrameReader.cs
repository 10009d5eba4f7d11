using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>
/// Cuts frames (RFC 9113 section 4) off a receive buffer and reads the payloads of the fixed-shape
/// frame types. Payloads stay slices of the receive buffer, so a relay can forward DATA without
/// copying; only the few fixed-size fields are read into values.
/// </summary>
internal static class Http2FrameReader
{
    private const int PriorityFieldSize = 5;
    private const int SettingSize = 6;
    private const uint StreamIdMask = 0x7FFF_FFFF;

    /// <summary>
    /// Slices one whole frame off the front of <paramref name="buffer"/>. Returns false, leaving
    /// <paramref name="buffer"/> untouched, while fewer than 9 + Length bytes are buffered. A declared
    /// length above <paramref name="maxFrameSize"/> fails as soon as the header is in, so an
    /// oversized frame is never buffered.
    /// </summary>
    public static bool TryReadFrame(
        ref ReadOnlySequence<byte> buffer,
        int maxFrameSize,
        out Http2FrameHeader header,
        out ReadOnlySequence<byte> payload)
    {
        if (buffer.Length < Http2FrameHeader.Size)
        {
            header = default;
            payload = default;
            return false;
        }

        Span<byte> scratch = stackalloc byte[Http2FrameHeader.Size];
        var bytes = Prefix(buffer, scratch);
        var length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
        var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes[5..]) & StreamIdMask);
        if (length > maxFrameSize)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.FrameSizeError, "A frame is larger than SETTINGS_MAX_FRAME_SIZE.");
        }

        if (buffer.Length - Http2FrameHeader.Size < length)
        {
            header = default;
            payload = default;
            return false;
        }

        header = new Http2FrameHeader(length, (Http2FrameType)bytes[3], (Http2FrameFlags)bytes[4], streamId);
        payload = buffer.Slice(Http2FrameHeader.Size, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>The application data of a DATA frame, without its padding (RFC 9113 section 6.1).</summary>
    public static ReadOnlySequence<byte> DataPayload(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        return header.HasFlag(Http2FrameFlags.Padded) ? StripPadding(payload, 0) : payload;
    }

    /// <summary>
    /// The field block fragment of a HEADERS frame without padding and priority fields (RFC 9113
    /// section 6.2); a CONTINUATION payload is all fragment, whatever its undefined flag bits say.
    /// </summary>
    public static ReadOnlySequence<byte> HeaderBlockFragment(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.Type != Http2FrameType.Headers)
        {
            return payload;
        }

        var priority = header.HasFlag(Http2FrameFlags.Priority) ? PriorityFieldSize : 0;
        if (header.HasFlag(Http2FrameFlags.Padded))
        {
            return StripPadding(payload, priority);
        }

        if (payload.Length < priority)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.FrameSizeError, "A HEADERS frame is too short for its priority fields.");
        }

        return payload.Slice(priority);
    }

    /// <summary>
    /// The increment of a WINDOW_UPDATE frame (RFC 9113 section 6.9). Zero is returned as is: whether
    /// it fails the stream or the connection depends on the frame's stream, which the caller knows.
    /// </summary>
    public static int ReadWindowIncrement(ReadOnlySequence<byte> payload)
    {
        return (int)(ReadFixedUInt32(payload, "WINDOW_UPDATE") & StreamIdMask);
    }

    /// <summary>The error code of a RST_STREAM frame (RFC 9113 section 6.4).</summary>
    public static Http2ErrorCode ReadRstStream(ReadOnlySequence<byte> payload)
    {
        return (Http2ErrorCode)ReadFixedUInt32(payload, "RST_STREAM");
    }

    /// <summary>The opaque data of a PING frame (RFC 9113 section 6.7), to be echoed in the ACK.</summary>
    public static ulong ReadPing(ReadOnlySequence<byte> payload)
    {
        if (payload.Length != sizeof(ulong))
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "A PING payload is not 8 bytes.");
        }

        Span<byte> scratch = stackalloc byte[sizeof(ulong)];
        return BinaryPrimitives.ReadUInt64BigEndian(Prefix(payload, scratch));
    }

    /// <summary>
    /// The last stream id and error code of a GOAWAY frame (RFC 9113 section 6.8); the debug data
    /// after them is ignored.
    /// </summary>
    public static (int LastStreamId, Http2ErrorCode Code) ReadGoAway(ReadOnlySequence<byte> payload)
    {
        if (payload.Length < 8)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "A GOAWAY payload is shorter than 8 bytes.");
        }

        Span<byte> scratch = stackalloc byte[8];
        var bytes = Prefix(payload, scratch);
        var lastStreamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes) & StreamIdMask);
        return (lastStreamId, (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]));
    }

    /// <summary>
    /// Applies the parameters of a SETTINGS frame to <paramref name="settings"/> in order, validating
    /// each as RFC 9113 section 6.5.2 requires; unknown parameters are ignored. Values above
    /// <see cref="int.MaxValue"/> of the unbounded settings are clamped to it.
    /// </summary>
    public static void ReadSettings(ReadOnlySequence<byte> payload, ref Http2PeerSettings settings)
    {
        if (payload.Length % SettingSize != 0)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.FrameSizeError, "A SETTINGS payload is not a multiple of 6 bytes.");
        }

        var reader = new SequenceReader<byte>(payload);
        while (reader.TryReadBigEndian(out short id) && reader.TryReadBigEndian(out int rawValue))
        {
            ApplySetting(ref settings, (Http2SettingId)(ushort)id, (uint)rawValue);
        }
    }

    private static void ApplySetting(ref Http2PeerSettings settings, Http2SettingId id, uint value)
    {
        switch (id)
        {
            case Http2SettingId.HeaderTableSize:
                settings.HeaderTableSize = Clamp(value);
                break;
            case Http2SettingId.EnablePush:
                if (value > 1)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "SETTINGS_ENABLE_PUSH is not 0 or 1.");
                }

                settings.EnablePush = value == 1;
                break;
            case Http2SettingId.MaxConcurrentStreams:
                settings.MaxConcurrentStreams = Clamp(value);
                break;
            case Http2SettingId.InitialWindowSize:
                if (value > Http2FrameWriter.MaxWindowSize)
                {
                    throw new Http2ConnectionException(
                        Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE is above 2^31-1.");
                }

                settings.InitialWindowSize = (int)value;
                break;
            case Http2SettingId.MaxFrameSize:
                if (value is < Http2FrameWriter.DefaultMaxFrameSize or > Http2FrameWriter.MaxAllowedFrameSize)
                {
                    throw new Http2ConnectionException(
                        Http2ErrorCode.ProtocolError, "SETTINGS_MAX_FRAME_SIZE is outside 16384..16777215.");
                }

                settings.MaxFrameSize = (int)value;
                break;
            case Http2SettingId.MaxHeaderListSize:
                settings.MaxHeaderListSize = Clamp(value);
                break;
            default:
                break;
        }
    }

    private static int Clamp(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;

    private static uint ReadFixedUInt32(ReadOnlySequence<byte> payload, string frameName)
    {
        if (payload.Length != sizeof(uint))
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"A {frameName} payload is not 4 bytes.");
        }

        Span<byte> scratch = stackalloc byte[sizeof(uint)];
        return BinaryPrimitives.ReadUInt32BigEndian(Prefix(payload, scratch));
    }

    // The pad length byte comes first, then any fixed fields, then the content, then the padding.
    private static ReadOnlySequence<byte> StripPadding(ReadOnlySequence<byte> payload, int fixedFields)
    {
        if (payload.Length < 1 + fixedFields)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.FrameSizeError, "A padded frame is too short for its pad length.");
        }

        var padLength = payload.FirstSpan.Length > 0 ? payload.FirstSpan[0] : FirstByte(payload);
        var content = payload.Length - 1 - fixedFields - padLength;
        if (content < 0)
        {
            throw new Http2ConnectionException(
                Http2ErrorCode.ProtocolError, "A frame's padding is longer than its payload.");
        }

        return payload.Slice(1 + fixedFields, content);
    }

    /// <summary>
    /// Reads the client connection preface (RFC 9113 section 3.4) off <paramref name="input"/>:
    /// true once it has arrived, consumed; false when other bytes came (left unread), the input
    /// ended first, or reading failed.
    /// </summary>
    public static async ValueTask<bool> ReadClientPrefaceAsync(PipeReader input)
    {
        var length = Http2FrameWriter.ClientPreface.Length;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync();
            }
            catch (Exception)
            {
                return false;
            }

            var buffer = result.Buffer;
            if (buffer.Length >= length)
            {
                Span<byte> scratch = stackalloc byte[Http2FrameWriter.ClientPreface.Length];
                var matches = Prefix(buffer, scratch).SequenceEqual(Http2FrameWriter.ClientPreface);
                input.AdvanceTo(matches ? buffer.GetPosition(length) : buffer.Start);
                return matches;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return false;
            }
        }
    }

    private static byte FirstByte(ReadOnlySequence<byte> payload)
    {
        Span<byte> scratch = stackalloc byte[1];
        return Prefix(payload, scratch)[0];
    }

    // The first scratch.Length bytes as one span: the first segment itself when it is long enough.
    private static ReadOnlySpan<byte> Prefix(ReadOnlySequence<byte> sequence, Span<byte> scratch)
    {
        var first = sequence.FirstSpan;
        if (first.Length >= scratch.Length)
        {
            return first[..scratch.Length];
        }

        sequence.Slice(0, scratch.Length).CopyTo(scratch);
        return scratch;
    }
}
