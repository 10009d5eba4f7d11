using System.Security.Cryptography.X509Certificates;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.ControlPlane;

/// <summary>How the control-plane client names certificates: by SPIFFE ID or by DNS name.</summary>
public static class CertificateNames
{
    /// <summary>
    /// True when the certificate's SPIFFE ID (its one URI SAN, read by <see cref="SpiffeId"/>)
    /// is <paramref name="uri"/> exactly.
    /// </summary>
    public static bool HasUri(X509Certificate2 certificate, string uri) =>
        SpiffeId.TryFromCertificate(certificate, out var id, out _) && string.Equals(id.ToString(), uri, StringComparison.Ordinal);

    /// <summary>True when <paramref name="name"/> is a SPIFFE ID rather than a DNS name.</summary>
    public static bool IsSpiffeId(string name) => name.StartsWith("spiffe://", StringComparison.Ordinal);
}
