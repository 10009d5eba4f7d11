using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.Identity;

/// <summary>
/// One immutable snapshot of the proxy's identity material: its leaf certificate (with private
/// key), the intermediates it presents, the trust anchors it verifies peers against, and what
/// TLS needs prepared from them. A renewal builds a new snapshot and swaps it in whole, so a
/// handshake in flight never sees a leaf paired with another leaf's chain.
/// </summary>
public sealed class MeshIdentity
{
    private readonly X509ChainPolicy _chainPolicy;

    /// <param name="certificate">The leaf, with its private key; its one URI SAN is the identity.</param>
    /// <param name="intermediates">The chain presented after the leaf (issuer certificates), leaf excluded.</param>
    /// <param name="trustAnchors">Roots that peers' chains must end in; the system's roots are never used.</param>
    /// <exception cref="ArgumentException">No private key, no trust anchor, or no valid SPIFFE URI SAN.</exception>
    public MeshIdentity(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection trustAnchors)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(intermediates);
        ArgumentNullException.ThrowIfNull(trustAnchors);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("the leaf certificate has no private key", nameof(certificate));
        }

        if (trustAnchors.Count == 0)
        {
            throw new ArgumentException("no trust anchor", nameof(trustAnchors));
        }

        if (!SpiffeId.TryFromCertificate(certificate, out var id, out var error))
        {
            throw new ArgumentException($"the leaf certificate carries no identity: {error}", nameof(certificate));
        }

        Certificate = certificate;
        Intermediates = intermediates;
        TrustAnchors = trustAnchors;
        Id = id;

        // Built once per snapshot: SslStream then sends the leaf plus intermediates without
        // building a chain on every handshake.
        CertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        _chainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        _chainPolicy.CustomTrustStore.AddRange(trustAnchors);
    }

    /// <summary>The leaf certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection Intermediates { get; }

    public X509Certificate2Collection TrustAnchors { get; }

    /// <summary>The proxy's own SPIFFE ID, read from the leaf's URI SAN.</summary>
    public SpiffeId Id { get; }

    /// <summary>The leaf and its intermediates prepared for SslStream.</summary>
    public SslStreamCertificateContext CertificateContext { get; }

    public DateTimeOffset NotAfter => Certificate.NotAfter.ToUniversalTime();

    /// <summary>
    /// A fresh chain policy that trusts only this snapshot's anchors and asks for the given
    /// extended key usage of the peer's leaf. Fresh per handshake because SslStream adds the
    /// peer's intermediates to the policy's extra store.
    /// </summary>
    public X509ChainPolicy CreateChainPolicy(string extendedKeyUsageOid)
    {
        var policy = _chainPolicy.Clone();
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(extendedKeyUsageOid));
        return policy;
    }
}
