using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Tests.Identity;

/// <summary>
/// A throwaway mesh PKI made in memory: a trust anchor (root) signs an issuer (intermediate),
/// which signs ECDSA P-256 workload leaves carrying a SPIFFE URI SAN, as the control plane's CA will.
/// </summary>
internal sealed class TestPki
{
    public const string TrustDomain = "cluster.local";

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private TestPki(X509Certificate2 root, X509Certificate2 issuer)
    {
        Root = root;
        Issuer = issuer;
    }

    public static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    public X509Certificate2 Root { get; }

    public X509Certificate2 Issuer { get; }

    public static TestPki Create(string name = "test")
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest($"CN={name} trust anchor", rootKey, HashAlgorithmName.SHA256);
        AddCaExtensions(rootRequest);
        var root = rootRequest.CreateSelfSigned(Now.AddDays(-30), Now.AddYears(1));

        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuerRequest = new CertificateRequest($"CN={name} issuer", issuerKey, HashAlgorithmName.SHA256);
        AddCaExtensions(issuerRequest);
        issuerRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var issuerPublic = issuerRequest.Create(root, Now.AddDays(-30), Now.AddDays(180), NewSerial());
        var issuer = issuerPublic.CopyWithPrivateKey(issuerKey);
        return new TestPki(root, issuer);
    }

    public static string Id(string ns, string sa) => $"spiffe://{TrustDomain}/ns/{ns}/sa/{sa}";

    /// <summary>Issues a leaf with its private key; <paramref name="uris"/> become its URI SANs.</summary>
    public X509Certificate2 IssueLeaf(string[] uris, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, ECDsa? key = null)
    {
        using var ownKey = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var leafKey = key ?? ownKey!;
        var request = new CertificateRequest("CN=workload", leafKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Issuer, true, false));
        if (uris.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var uri in uris)
            {
                san.AddUri(new Uri(uri));
            }

            request.CertificateExtensions.Add(san.Build(true));
        }

        using var leaf = request.Create(Issuer, notBefore ?? Now.AddHours(-1), notAfter ?? Now.AddHours(24), NewSerial());
        return leaf.CopyWithPrivateKey(leafKey);
    }

    public X509Certificate2 IssueLeaf(string id, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        IssueLeaf([id], notBefore, notAfter);

    /// <summary>A ready identity for <paramref name="id"/>, trusting <paramref name="trust"/>'s root (this PKI's by default).</summary>
    public MeshIdentity Identity(string id, TestPki? trust = null, DateTimeOffset? notAfter = null, DateTimeOffset? notBefore = null) =>
        new(IssueLeaf(id, notBefore, notAfter), [Issuer], [(trust ?? this).Root]);

    /// <summary>Writes tls.crt (leaf + issuer), tls.key and ca.crt into <paramref name="directory"/>.</summary>
    public void WriteFiles(string directory, X509Certificate2 leaf, TestPki? trust = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tls.crt"), leaf.ExportCertificatePem() + "\n" + Issuer.ExportCertificatePem() + "\n");
        using var key = leaf.GetECDsaPrivateKey()!;
        File.WriteAllText(Path.Combine(directory, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(directory, "ca.crt"), (trust ?? this).Root.ExportCertificatePem() + "\n");
    }

    private static void AddCaExtensions(CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
    }

    private static byte[] NewSerial() => RandomNumberGenerator.GetBytes(16);
}
