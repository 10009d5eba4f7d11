namespace Trellis.Proxy.Tls;

/// <summary>A mesh TLS handshake failed; the message is the reason (untrusted, wrong identity, timeout...).</summary>
public sealed class MeshTlsException : Exception
{
    public MeshTlsException(string reason, Exception? inner = null)
        : base(reason, inner)
    {
    }
}
