namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// A malformed field block (RFC 7541). The decoder's dynamic table may now disagree with the
/// peer's, so the connection fails with COMPRESSION_ERROR (RFC 9113 section 4.3).
/// </summary>
internal sealed class HpackException(string message) : Exception(message);
