using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Bench.Orchestration;

/// <summary>
/// A throwaway CA and one leaf per proxy identity, made fresh for each run and shared by every setup.
/// Each identity gets a directory in the form the trellis proxy's identity layer loads: `tls.crt`
/// (leaf PEM; the CA signs leaves directly, so there is no intermediate), `tls.key` (PKCS#8 PEM),
/// `ca.crt` (trust anchor), plus `combined.pem` (leaf + key) for HAProxy. Leaves are ECDSA P-256 with
/// the SPIFFE URI SAN `spiffe://trellis.local/ns/bench/sa/NAME`, DNS `localhost` and IP 127.0.0.1,
/// valid for both server and client authentication.
/// </summary>
internal static class Certificates
{
    public const string TrustDomain = "trellis.local";

    public static string SpiffeId(string name) => $"spiffe://{TrustDomain}/ns/bench/sa/{name}";

    /// <summary>Writes the CA and one directory per name under <paramref name="root"/>; returns root/NAME per name.</summary>
    public static IReadOnlyDictionary<string, string> Create(string root, params string[] names)
    {
        Directory.CreateDirectory(root);
        var now = TimeProvider.System.GetUtcNow();
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=trellis bench CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        var caPem = ca.ExportCertificatePem() + "\n";
        File.WriteAllText(Path.Combine(root, "ca.crt"), caPem);

        var dirs = new Dictionary<string, string>(StringComparer.Ordinal);
        var serial = 2;
        foreach (var name in names)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri(SpiffeId(name)));
            san.AddDnsName("localhost");
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build(true));
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var leaf = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), [(byte)serial++, 0x42]);
            var dir = Path.Combine(root, name);
            Directory.CreateDirectory(dir);
            var certPem = leaf.ExportCertificatePem() + "\n";
            var keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
            File.WriteAllText(Path.Combine(dir, "tls.crt"), certPem);
            File.WriteAllText(Path.Combine(dir, "tls.key"), keyPem);
            File.WriteAllText(Path.Combine(dir, "ca.crt"), caPem);
            File.WriteAllText(Path.Combine(dir, "combined.pem"), certPem + keyPem);
            dirs[name] = dir;
        }
        return dirs;
    }
}
