using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Testing;

/// <summary>
/// A throwaway mesh PKI for one test: an ECDSA P-256 trust anchor signs an issuer, which signs
/// workload leaves named by a SPIFFE URI SAN. <see cref="WriteIdentity"/> lays a leaf out as the
/// proxy's <c>--identity-dir</c> expects: tls.crt (leaf, then issuer), tls.key, ca.crt.
/// </summary>
public sealed class MeshPki : IDisposable
{
    public const string TrustDomain = "trellis.local";

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2 _anchor;
    private readonly X509Certificate2 _issuer;

    private MeshPki(X509Certificate2 anchor, X509Certificate2 issuer)
    {
        _anchor = anchor;
        _issuer = issuer;
    }

    public static string Id(string serviceAccount, string ns = "test") => $"spiffe://{TrustDomain}/ns/{ns}/sa/{serviceAccount}";

    public static MeshPki Create()
    {
        var now = TimeProvider.System.GetUtcNow();
        using var anchorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var anchorRequest = CaRequest("CN=trellis test trust anchor", anchorKey);
        var anchor = anchorRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(7));

        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuerRequest = CaRequest("CN=trellis test issuer", issuerKey);
        issuerRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(anchor, true, false));
        using var issuerPublic = issuerRequest.Create(anchor, now.AddHours(-1), now.AddDays(7), RandomNumberGenerator.GetBytes(16));
        return new MeshPki(anchor, issuerPublic.CopyWithPrivateKey(issuerKey));
    }

    /// <summary>Issues a leaf for <paramref name="spiffeId"/> and writes it, its key and the anchor into <paramref name="directory"/>.</summary>
    public void WriteIdentity(string directory, string spiffeId)
    {
        var now = TimeProvider.System.GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + spiffeId.Split('/')[^1], key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_issuer, true, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(san.Build(true));
        using var leaf = request.Create(_issuer, now.AddHours(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(16));

        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tls.crt"), leaf.ExportCertificatePem() + "\n" + _issuer.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(directory, "tls.key"), key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(Path.Combine(directory, "ca.crt"), _anchor.ExportCertificatePem() + "\n");
    }

    public void Dispose()
    {
        _anchor.Dispose();
        _issuer.Dispose();
    }

    private static CertificateRequest CaRequest(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }
}
