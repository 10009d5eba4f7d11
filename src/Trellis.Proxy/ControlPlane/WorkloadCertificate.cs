using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.ControlPlane;

/// <summary>A certificate the identity service issued to this proxy, with the key that never left it.</summary>
/// <param name="Certificate">The leaf, with its private key.</param>
/// <param name="Intermediates">The issuer chain up to (not including) the trust anchor, leaf-most first.</param>
public sealed record WorkloadCertificate(
    string Identity,
    X509Certificate2 Certificate,
    X509Certificate2Collection Intermediates,
    DateTimeOffset ValidFrom,
    DateTimeOffset ValidUntil)
{
    /// <summary>When renewal is due: <paramref name="fraction"/> of the way through the lifetime.</summary>
    public DateTimeOffset RenewAt(double fraction) => ValidFrom + ((ValidUntil - ValidFrom) * fraction);
}
