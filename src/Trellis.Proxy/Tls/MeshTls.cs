using System.Net.Security;

namespace Trellis.Proxy.Tls;

/// <summary>The constants of the proxy-to-proxy mTLS hop, kept in one place.</summary>
public static class MeshTls
{
    /// <summary>
    /// The ALPN protocol a meshed proxy offers and requires: it marks a ClientHello as mesh
    /// traffic, so the inbound side can tell it from an application's own TLS by peeking.
    /// </summary>
    public static ReadOnlySpan<byte> AlpnBytes => "trellis.mesh/1"u8;

    public static readonly SslApplicationProtocol Alpn = new(AlpnBytes.ToArray());

    /// <summary>
    /// The ALPN protocol of a mesh connection that carries many HTTP/1 connections as HTTP/2
    /// tunnels (src/Trellis.Proxy/Multiplexing/). A client offers it first and <see cref="Alpn"/>
    /// after it, so a peer that does not know it still answers with one connection per tunnel.
    /// </summary>
    public static readonly SslApplicationProtocol MultiplexedAlpn = new("trellis.mesh-mux/1"u8.ToArray());

    /// <summary>How long a peer may take to finish a handshake before the connection is closed.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Plaintext read and write segment size: one full TLS record (16 KiB), so SslStream hands
    /// over a decrypted record in one read and a flush of up to 16 KiB becomes one record.
    /// </summary>
    internal const int RecordBufferSize = 16 * 1024;

    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>The <c>errno</c> label of <c>tcp_close_total</c> for a failed mesh handshake.</summary>
    internal const string HandshakeErrno = "tls_handshake";
}
