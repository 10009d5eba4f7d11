namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>
/// A stream error (RFC 9113 section 5.4.2): only stream <see cref="StreamId"/> fails, and the
/// caller resets it with RST_STREAM carrying <see cref="Code"/>.
/// </summary>
internal sealed class Http2StreamException(int streamId, Http2ErrorCode code, string message) : Exception(message)
{
    public int StreamId { get; } = streamId;

    public Http2ErrorCode Code { get; } = code;
}
