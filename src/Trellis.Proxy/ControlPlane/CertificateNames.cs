using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// Reads URI names (SPIFFE IDs) from a certificate's subject alternative names. .NET's
/// <see cref="X509SubjectAlternativeNameExtension"/> enumerates only DNS names and IP
/// addresses, so the URI entries are read from the extension's DER here.
/// </summary>
public static class CertificateNames
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>True when the certificate carries <paramref name="uri"/> as a URI SAN (exact, ordinal).</summary>
    public static bool HasUri(X509Certificate2 certificate, string uri)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
                continue;

            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(UriTag))
                {
                    if (string.Equals(names.ReadCharacterString(UniversalTagNumber.IA5String, tag), uri, StringComparison.Ordinal))
                        return true;
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        return false;
    }

    /// <summary>True when <paramref name="name"/> is a SPIFFE ID rather than a DNS name.</summary>
    public static bool IsSpiffeId(string name) => name.StartsWith("spiffe://", StringComparison.Ordinal);
}
