namespace Trellis.Proxy.Http.Http1;

/// <summary>The header fields the forwarder acts on; every other field is <see cref="Other"/>.</summary>
internal enum Http1HeaderKind : byte
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Upgrade,
    Expect,
}
