using System.Buffers;
using System.Buffers.Binary;

namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>
/// Writes frames (RFC 9113 section 6) into an <see cref="IBufferWriter{T}"/>; the caller flushes.
/// Payloads are copied in pieces no larger than the writer's current buffer, so a 16 KB frame
/// never asks a pipe for one 16 KB block.
/// </summary>
internal static class Http2FrameWriter
{
    public const int DefaultMaxFrameSize = 16384;
    public const int MaxAllowedFrameSize = 16_777_215;
    public const int MaxWindowSize = int.MaxValue;

    private const int SettingSize = 6;

    /// <summary>The connection preface a client sends before its first SETTINGS (RFC 9113 section 3.4).</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Writes a field block as one HEADERS frame followed by as many CONTINUATION frames as
    /// <paramref name="maxFrameSize"/> requires; END_STREAM goes on the HEADERS frame, END_HEADERS
    /// on the last frame.
    /// </summary>
    public static void WriteHeaders(
        IBufferWriter<byte> output,
        int streamId,
        ReadOnlySpan<byte> headerBlock,
        bool endStream,
        int maxFrameSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameSize, 1);
        var type = Http2FrameType.Headers;
        var flags = endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None;
        var remaining = headerBlock;
        while (true)
        {
            var length = Math.Min(remaining.Length, maxFrameSize);
            var last = length == remaining.Length;
            if (last)
            {
                flags |= Http2FrameFlags.EndHeaders;
            }

            WriteFrameHeader(output, length, type, flags, streamId);
            output.Write(remaining[..length]);
            if (last)
            {
                return;
            }

            remaining = remaining[length..];
            type = Http2FrameType.Continuation;
            flags = Http2FrameFlags.None;
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> as DATA frames of at most <paramref name="maxFrameSize"/> bytes,
    /// END_STREAM on the last when asked. Empty data writes one empty frame when it ends the stream
    /// and nothing otherwise. Flow control is the caller's: it passes only what the windows allow.
    /// </summary>
    public static void WriteData(
        IBufferWriter<byte> output,
        int streamId,
        ReadOnlySequence<byte> data,
        bool endStream,
        int maxFrameSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameSize, 1);
        if (data.IsEmpty)
        {
            if (endStream)
            {
                WriteFrameHeader(output, 0, Http2FrameType.Data, Http2FrameFlags.EndStream, streamId);
            }

            return;
        }

        var remaining = data;
        while (!remaining.IsEmpty)
        {
            var length = (int)Math.Min(remaining.Length, maxFrameSize);
            var last = length == remaining.Length;
            var flags = last && endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None;
            WriteFrameHeader(output, length, Http2FrameType.Data, flags, streamId);
            WritePayload(output, remaining.Slice(0, length));
            remaining = remaining.Slice(length);
        }
    }

    /// <summary>Writes a SETTINGS frame carrying <paramref name="settings"/> in order.</summary>
    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<(Http2SettingId Id, uint Value)> settings)
    {
        var length = settings.Length * SettingSize;
        WriteFrameHeader(output, length, Http2FrameType.Settings, Http2FrameFlags.None, 0);
        var span = output.GetSpan(length);
        for (var i = 0; i < settings.Length; i++)
        {
            var entry = span.Slice(i * SettingSize, SettingSize);
            BinaryPrimitives.WriteUInt16BigEndian(entry, (ushort)settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(entry[2..], settings[i].Value);
        }

        output.Advance(length);
    }

    public static void WriteSettingsAck(IBufferWriter<byte> output)
    {
        WriteFrameHeader(output, 0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0);
    }

    public static void WritePing(IBufferWriter<byte> output, bool ack, ulong opaqueData)
    {
        var flags = ack ? Http2FrameFlags.Ack : Http2FrameFlags.None;
        var span = output.GetSpan(Http2FrameHeader.Size + sizeof(ulong));
        FormatFrameHeader(span, sizeof(ulong), Http2FrameType.Ping, flags, 0);
        BinaryPrimitives.WriteUInt64BigEndian(span[Http2FrameHeader.Size..], opaqueData);
        output.Advance(Http2FrameHeader.Size + sizeof(ulong));
    }

    /// <summary>Writes a WINDOW_UPDATE for a stream, or for the connection when <paramref name="streamId"/> is 0.</summary>
    public static void WriteWindowUpdate(IBufferWriter<byte> output, int streamId, int increment)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(increment, 1);
        WriteUInt32Frame(output, Http2FrameType.WindowUpdate, streamId, (uint)increment);
    }

    public static void WriteRstStream(IBufferWriter<byte> output, int streamId, Http2ErrorCode code)
    {
        WriteUInt32Frame(output, Http2FrameType.RstStream, streamId, (uint)code);
    }

    /// <summary>Writes a GOAWAY without debug data.</summary>
    public static void WriteGoAway(IBufferWriter<byte> output, int lastStreamId, Http2ErrorCode code)
    {
        const int Length = 8;
        var span = output.GetSpan(Http2FrameHeader.Size + Length);
        FormatFrameHeader(span, Length, Http2FrameType.GoAway, Http2FrameFlags.None, 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[Http2FrameHeader.Size..], (uint)lastStreamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(span[(Http2FrameHeader.Size + 4)..], (uint)code);
        output.Advance(Http2FrameHeader.Size + Length);
    }

    private static void WriteUInt32Frame(IBufferWriter<byte> output, Http2FrameType type, int streamId, uint value)
    {
        var span = output.GetSpan(Http2FrameHeader.Size + sizeof(uint));
        FormatFrameHeader(span, sizeof(uint), type, Http2FrameFlags.None, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span[Http2FrameHeader.Size..], value);
        output.Advance(Http2FrameHeader.Size + sizeof(uint));
    }

    private static void WriteFrameHeader(
        IBufferWriter<byte> output, int length, Http2FrameType type, Http2FrameFlags flags, int streamId)
    {
        var span = output.GetSpan(Http2FrameHeader.Size);
        FormatFrameHeader(span, length, type, flags, streamId);
        output.Advance(Http2FrameHeader.Size);
    }

    private static void FormatFrameHeader(
        Span<byte> span, int length, Http2FrameType type, Http2FrameFlags flags, int streamId)
    {
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = (byte)type;
        span[4] = (byte)flags;
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)streamId & 0x7FFF_FFFF);
    }

    private static void WritePayload(IBufferWriter<byte> output, ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            output.Write(payload.FirstSpan);
            return;
        }

        foreach (var segment in payload)
        {
            output.Write(segment.Span);
        }
    }
}
