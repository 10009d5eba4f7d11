using System.Security.Cryptography.X509Certificates;

namespace Trellis.Controller.Identity;

/// <summary>
/// Verifies a certificate against one trust anchor only (never the system store), at a given time,
/// so tests can check expiry with a fake clock and clients trust exactly the mesh's root.
/// </summary>
public static class ChainVerifier
{
    /// <summary>Builds the chain from <paramref name="leaf"/> through <paramref name="intermediates"/> to <paramref name="trustAnchor"/>.</summary>
    public static ChainVerification Verify(X509Certificate2 leaf, IEnumerable<X509Certificate2> intermediates,
        X509Certificate2 trustAnchor, DateTimeOffset at, bool requireCa = false)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trustAnchor);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        foreach (var intermediate in intermediates)
        {
            chain.ChainPolicy.ExtraStore.Add(intermediate);
        }

        if (!chain.Build(leaf))
        {
            var reasons = new List<string>();
            foreach (var status in chain.ChainStatus)
            {
                reasons.Add(status.Status.ToString());
            }

            return new ChainVerification(false, string.Join(", ", reasons));
        }

        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(trustAnchor.RawDataMemory.Span))
        {
            return new ChainVerification(false, "the chain ends at another root than the trust anchor");
        }

        if (requireCa)
        {
            foreach (var extension in leaf.Extensions)
            {
                if (extension is X509BasicConstraintsExtension { CertificateAuthority: true })
                {
                    return new ChainVerification(true, "ok");
                }
            }

            return new ChainVerification(false, "the certificate is not a CA");
        }

        return new ChainVerification(true, "ok");
    }
}
