namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// One header field. Names are lowercase ASCII (RFC 9113 section 8.2.1); values are bytes as
/// Latin-1 characters, so any octet a peer sends survives a decode and re-encode unchanged.
/// </summary>
internal readonly record struct HeaderField(string Name, string Value)
{
    /// <summary>
    /// The peer sent the field as never indexed (RFC 7541 section 6.2.3), which an intermediary
    /// must keep when it encodes the field again.
    /// </summary>
    public bool NeverIndexed { get; init; }
}
