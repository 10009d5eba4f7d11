using System.Buffers;
using System.Buffers.Binary;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Tests.Http.Http2.Frames;

/// <summary>Hand-built frames, so reader tests do not depend on the writer.</summary>
internal static class FrameBytes
{
    public static byte[] Frame(Http2FrameType type, Http2FrameFlags flags, uint streamId, params byte[] payload)
    {
        var frame = new byte[Http2FrameHeader.Size + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = (byte)type;
        frame[4] = (byte)flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, Http2FrameHeader.Size);
        return frame;
    }

    public static byte[] Settings(params (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan((i * 6) + 2), settings[i].Value);
        }

        return payload;
    }

    /// <summary>Reads every whole frame in <paramref name="buffer"/>, copying each payload out.</summary>
    public static List<(Http2FrameHeader Header, byte[] Payload)> ReadAll(ReadOnlySequence<byte> buffer, int maxFrameSize = 16_777_215)
    {
        var frames = new List<(Http2FrameHeader, byte[])>();
        while (Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out var header, out var payload))
        {
            frames.Add((header, payload.ToArray()));
        }

        Assert.True(buffer.IsEmpty, "bytes left after the last whole frame");
        return frames;
    }
}
