namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>The fixed 9-byte header every frame starts with (RFC 9113 section 4.1).</summary>
internal readonly record struct Http2FrameHeader(int Length, Http2FrameType Type, Http2FrameFlags Flags, int StreamId)
{
    public const int Size = 9;

    public bool HasFlag(Http2FrameFlags flag) => (Flags & flag) == flag;
}
