using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Controller.Tests.Identity;

/// <summary>Builds CSRs as a proxy would: its own key, optionally a URI SAN.</summary>
internal static class Csr
{
    public static byte[] For(ECDsa key, string? uri)
    {
        var request = new CertificateRequest("CN=workload", key, HashAlgorithmName.SHA256);
        if (uri is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri(uri));
            request.CertificateExtensions.Add(san.Build());
        }

        return request.CreateSigningRequest();
    }
}
