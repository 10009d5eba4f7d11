namespace Trellis.Proxy.Discovery;

/// <summary>What discovery says a meshed peer accepts.</summary>
public enum ProtocolHint
{
    /// <summary>No hint: forward in the protocol the client spoke.</summary>
    Unknown,

    /// <summary>The peer proxy accepts HTTP/2 between proxies (HTTP/1 may be upgraded).</summary>
    Http2,

    /// <summary>Skip detection: forward as bytes.</summary>
    Opaque,
}
