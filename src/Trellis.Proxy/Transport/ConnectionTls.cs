namespace Trellis.Proxy.Transport;

/// <summary>
/// The mesh TLS state of a client connection, set by the TLS layer when it terminates mTLS:
/// the <c>tls</c> and <c>client_id</c> metric labels, and what authorization policy reads.
/// </summary>
/// <param name="ClientId">The caller's verified mesh identity, when it presented one.</param>
public readonly record struct ConnectionTls(bool Terminated, string? ClientId)
{
    public static ConnectionTls None => default;
}
