namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>Frame flags (RFC 9113 section 6); the meaning of a bit depends on the frame type.</summary>
[Flags]
#pragma warning disable CA1069 // ACK (SETTINGS, PING) and END_STREAM (DATA, HEADERS) share bit 0 by design.
internal enum Http2FrameFlags : byte
{
    None = 0,
    EndStream = 0x1,
    Ack = 0x1,
    EndHeaders = 0x4,
    Padded = 0x8,
    Priority = 0x20,
}
#pragma warning restore CA1069
