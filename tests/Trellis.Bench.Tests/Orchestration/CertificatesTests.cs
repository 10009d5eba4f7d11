using System.Security.Cryptography.X509Certificates;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Tests.Orchestration;

public sealed class CertificatesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "trellis-bench-certs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Create_Identity_WritesTrellisIdentityDirectoryWithSpiffeSan()
    {
        var dirs = Certificates.Create(_root, "client-proxy");
        var dir = dirs["client-proxy"];
        foreach (var file in new[] { "tls.crt", "tls.key", "ca.crt", "combined.pem" })
        {
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        }
        using var leaf = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
        Assert.True(leaf.HasPrivateKey);
        Assert.NotNull(leaf.GetECDsaPublicKey());
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("URI:spiffe://trellis.local/ns/bench/sa/client-proxy", san.Format(false).Replace("URL=", "URI:"));

        using var anchor = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "ca.crt"));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(leaf));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
