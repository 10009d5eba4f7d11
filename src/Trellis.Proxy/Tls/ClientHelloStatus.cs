namespace Trellis.Proxy.Tls;

/// <summary>What <see cref="ClientHelloReader"/> made of the bytes it was shown.</summary>
public enum ClientHelloStatus
{
    /// <summary>So far a well-formed ClientHello, but not all of it has arrived.</summary>
    NeedMoreData,

    /// <summary>Not a TLS ClientHello, malformed, or larger than the reader's bound.</summary>
    Invalid,

    /// <summary>A whole ClientHello was read.</summary>
    Parsed,
}
