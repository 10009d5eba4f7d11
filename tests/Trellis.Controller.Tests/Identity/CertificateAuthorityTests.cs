using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Trellis.Controller.Identity;

namespace Trellis.Controller.Tests.Identity;

public sealed class CertificateAuthorityTests : IDisposable
{
    private const string Spiffe = "spiffe://cluster.local/ns/demo/sa/web";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LoadOrCreate_EmptyDirectory_CreatesAnchorAndIssuerWithPrivateKeyFiles()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.State.TrustAnchorKey));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.State.IssuerKey));
        Assert.True(File.Exists(_dir.State.TrustAnchorCertificate));
        Assert.Equal(_time.GetUtcNow().AddDays(3650).UtcDateTime, ca.TrustAnchor.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(_time.GetUtcNow().AddDays(365).UtcDateTime, ca.Issuer.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        using var anchorKey = ca.TrustAnchor.GetECDsaPublicKey();
        Assert.Equal(256, anchorKey!.KeySize);
        Assert.True(ChainVerifier.Verify(ca.Issuer, [], ca.TrustAnchor, _time.GetUtcNow(), requireCa: true).IsValid);
    }

    [Fact]
    public void LoadOrCreate_ExistingState_ReusesAnchorAndIssuer()
    {
        string anchor, issuer;
        using (var first = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time))
        {
            anchor = first.TrustAnchor.Thumbprint;
            issuer = first.Issuer.Thumbprint;
        }

        using var second = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);

        Assert.Equal(anchor, second.TrustAnchor.Thumbprint);
        Assert.Equal(issuer, second.Issuer.Thumbprint);
    }

    [Fact]
    public void LoadOrCreate_IssuerNearExpiry_ReplacesIssuerKeepsAnchor()
    {
        string anchor, issuer;
        using (var first = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time))
        {
            anchor = first.TrustAnchor.Thumbprint;
            issuer = first.Issuer.Thumbprint;
        }

        _time.Advance(TimeSpan.FromDays(340));
        using var second = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);

        Assert.Equal(anchor, second.TrustAnchor.Thumbprint);
        Assert.NotEqual(issuer, second.Issuer.Thumbprint);
    }

    [Fact]
    public void SignWorkload_ValidCsr_ChainValidatesWithSpiffeUriAndDefaultLifetime()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var leaf = ca.SignWorkload(Csr.For(key, Spiffe), Spiffe, TimeSpan.FromHours(24));

        Assert.True(ChainVerifier.Verify(leaf, [ca.Issuer], ca.TrustAnchor, _time.GetUtcNow()).IsValid);
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([Spiffe], CertificateAuthority.ReadUriNames(san.RawData));
        Assert.Equal(_time.GetUtcNow().AddHours(24).UtcDateTime, leaf.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        using var leafKey = leaf.GetECDsaPublicKey();
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), leafKey!.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Verify_WrongTrustAnchor_IsRefused()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var otherDir = new TempDirectory();
        using var other = CertificateAuthority.LoadOrCreate(otherDir.State, "cluster.local", _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = ca.SignWorkload(Csr.For(key, null), Spiffe, TimeSpan.FromHours(24));

        Assert.False(ChainVerifier.Verify(leaf, [ca.Issuer], other.TrustAnchor, _time.GetUtcNow()).IsValid);
    }

    [Fact]
    public void Verify_ExpiredCertificate_IsRefused()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = ca.SignWorkload(Csr.For(key, null), Spiffe, TimeSpan.FromHours(24));

        var result = ChainVerifier.Verify(leaf, [ca.Issuer], ca.TrustAnchor, _time.GetUtcNow().AddHours(25));

        Assert.False(result.IsValid);
        Assert.Contains("NotTimeValid", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ForeignCertificateWithSameNames_IsRefused()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var otherDir = new TempDirectory();
        using var foreign = CertificateAuthority.LoadOrCreate(otherDir.State, "cluster.local", _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = foreign.SignWorkload(Csr.For(key, Spiffe), Spiffe, TimeSpan.FromHours(24));

        Assert.False(ChainVerifier.Verify(leaf, [foreign.Issuer], ca.TrustAnchor, _time.GetUtcNow()).IsValid);
        Assert.False(ChainVerifier.Verify(leaf, [ca.Issuer], ca.TrustAnchor, _time.GetUtcNow()).IsValid);
    }

    [Fact]
    public void SignWorkload_CsrForAnotherIdentity_ThrowsWrongIdentity()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var e = Assert.Throws<CertificateRequestException>(() =>
            ca.SignWorkload(Csr.For(key, "spiffe://cluster.local/ns/demo/sa/admin"), Spiffe, TimeSpan.FromHours(24)));

        Assert.True(e.WrongIdentity);
    }

    [Fact]
    public void SignWorkload_Garbage_ThrowsMalformed()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);

        var e = Assert.Throws<CertificateRequestException>(() => ca.SignWorkload([1, 2, 3], Spiffe, TimeSpan.FromHours(24)));

        Assert.False(e.WrongIdentity);
    }

    [Fact]
    public void SignWorkload_RsaKey_ThrowsMalformed()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        using var rsa = RSA.Create(2048);
        var csr = new CertificateRequest("CN=x", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequest();

        var e = Assert.Throws<CertificateRequestException>(() => ca.SignWorkload(csr, Spiffe, TimeSpan.FromHours(24)));

        Assert.Contains("ECDSA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IssueServing_Loopback_ChainValidatesWithIpSan()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);

        using var serving = ca.IssueServing(["localhost"], [System.Net.IPAddress.Loopback], TimeSpan.FromHours(24));

        Assert.True(serving.HasPrivateKey);
        Assert.True(ChainVerifier.Verify(serving, [ca.Issuer], ca.TrustAnchor, _time.GetUtcNow()).IsValid);
        var san = serving.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains(System.Net.IPAddress.Loopback, san.EnumerateIPAddresses());
    }
}
