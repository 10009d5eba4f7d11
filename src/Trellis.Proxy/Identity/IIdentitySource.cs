using Microsoft.Extensions.Primitives;

namespace Trellis.Proxy.Identity;

/// <summary>
/// Where the proxy's mesh identity comes from: files today (<see cref="FileIdentitySource"/>),
/// the control plane's identity service later (a client that keeps the private key, sends a
/// CSR and renews at about 70% of the certificate's lifetime). TLS code reads
/// <see cref="Current"/> on every handshake, so a renewal takes effect on the next connection
/// and connections already established keep their certificate.
/// </summary>
public interface IIdentitySource
{
    /// <summary>The identity to use now: certificate with key, chain, own SPIFFE ID, trust anchors.</summary>
    MeshIdentity Current { get; }

    /// <summary>
    /// A token that fires once, when <see cref="Current"/> is replaced; ask for a new token
    /// after it fires (<c>ChangeToken.OnChange</c> does that loop).
    /// </summary>
    IChangeToken GetChangeToken();
}
