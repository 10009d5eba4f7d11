using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// Accepts the controller's certificate only when it chains to the mesh trust anchor (never
/// the system roots) and names the expected controller, by DNS name or SPIFFE ID.
/// </summary>
public sealed class ControllerCertificateValidator
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    private readonly X509Certificate2Collection _anchors;
    private readonly string _expectedName;
    private readonly TimeProvider _time;

    public ControllerCertificateValidator(X509Certificate2Collection anchors, string expectedName, TimeProvider time)
    {
        if (anchors.Count == 0)
            throw new ArgumentException("At least one trust anchor is needed.", nameof(anchors));
        ArgumentException.ThrowIfNullOrEmpty(expectedName);
        _anchors = anchors;
        _expectedName = expectedName;
        _time = time;
    }

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/>: the platform's verdict is replaced, not trusted.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf)
            return false;

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        if (presented is not null)
        {
            // The intermediates the controller sent.
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }

        return chain.Build(leaf) && MatchesName(leaf);
    }

    private bool MatchesName(X509Certificate2 leaf) =>
        CertificateNames.IsSpiffeId(_expectedName)
            ? CertificateNames.HasUri(leaf, _expectedName)
            : leaf.MatchesHostname(_expectedName);
}
