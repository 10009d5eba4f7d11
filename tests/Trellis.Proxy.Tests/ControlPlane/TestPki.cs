using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.Tests.ControlPlane;

/// <summary>An in-test CA: trust anchor, issuer, controller server certificates, CSR signing.</summary>
public sealed class TestPki
{
    public const string ControllerName = "controller.trellis.test";
    public const string ControllerSpiffeId = "spiffe://trellis.test/ns/trellis/sa/controller";

    public TestPki(DateTimeOffset now)
    {
        Root = CreateCa("CN=trellis test root", null, now);
        Issuer = CreateCa("CN=trellis test issuer", Root, now);
        Anchors = [X509CertificateLoader.LoadCertificate(Root.RawData)];
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Issuer { get; }

    /// <summary>The root without its key, as a proxy holds it.</summary>
    public X509Certificate2Collection Anchors { get; }

    public static X509Certificate2 CreateCa(string subject, X509Certificate2? parent, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (parent is null)
            return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

        using var signed = request.Create(parent, now.AddDays(-1), now.AddYears(1), RandomSerial());
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A controller server certificate with a DNS and a URI name, signed by the issuer.</summary>
    public X509Certificate2 ServerCertificate(DateTimeOffset now, string dnsName = ControllerName, X509Certificate2? signer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=controller", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        names.AddUri(new Uri(ControllerSpiffeId));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = request.Create(signer ?? Issuer, now.AddDays(-1), now.AddDays(30), RandomSerial());
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Signs a workload CSR as the identity service would, keeping its SAN.</summary>
    public X509Certificate2 SignWorkload(byte[] csr, DateTimeOffset notBefore, TimeSpan lifetime, X509Certificate2? signer = null)
    {
        var request = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        return request.Create(signer ?? Issuer, notBefore, notBefore + lifetime, RandomSerial());
    }

    private static byte[] RandomSerial() => RandomNumberGenerator.GetBytes(16);
}
