namespace Trellis.Proxy.Http.Http1;

/// <summary>How a message body is delimited (RFC 9112 section 6.3).</summary>
internal enum Http1BodyFraming : byte
{
    None,
    ContentLength,
    Chunked,

    /// <summary>A response without length: the body ends when the upstream closes.</summary>
    UntilClose,
}
