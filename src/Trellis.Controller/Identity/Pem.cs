using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Trellis.Controller.Identity;

/// <summary>PEM encodings of certificates and their ECDSA keys, as written to the state directory.</summary>
public static class Pem
{
    /// <summary>The certificate as PEM bytes.</summary>
    public static byte[] Certificate(X509Certificate2 certificate) =>
        Encoding.ASCII.GetBytes(PemEncoding.WriteString("CERTIFICATE", certificate.RawData) + "\n");

    /// <summary>The certificate's ECDSA private key as PKCS#8 PEM bytes.</summary>
    public static byte[] Key(X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        return Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
