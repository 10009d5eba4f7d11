namespace Trellis.Proxy.Transport;

/// <summary>What the detection layer decided a connection speaks.</summary>
public enum DetectedProtocol
{
    Unknown,
    Http1,
    Http2,
    Tls,
    Opaque,
}
