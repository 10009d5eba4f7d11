namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>
/// A connection error (RFC 9113 section 5.4.1): the connection cannot continue, and the caller
/// sends GOAWAY carrying <see cref="Code"/> before closing it.
/// </summary>
internal sealed class Http2ConnectionException(Http2ErrorCode code, string message) : Exception(message)
{
    public Http2ErrorCode Code { get; } = code;
}
