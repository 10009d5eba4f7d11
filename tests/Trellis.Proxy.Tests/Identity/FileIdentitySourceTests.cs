using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Tests.Identity;

public sealed class FileIdentitySourceTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "trellis-identity-" + Guid.NewGuid().ToString("N"));
    private readonly TestPki _pki = TestPki.Create();
    private readonly FakeTimeProvider _time = new(TestPki.Now);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void Constructor_ValidFiles_LoadsIdentityChainAndAnchors()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));

        using var source = new FileIdentitySource(_directory, _time);

        Assert.Equal(TestPki.Id("default", "web"), source.Current.Id.Value);
        Assert.True(source.Current.Certificate.HasPrivateKey);
        Assert.Equal(_pki.Issuer.Thumbprint, Assert.Single(source.Current.Intermediates).Thumbprint);
        Assert.Equal(_pki.Root.Thumbprint, Assert.Single(source.Current.TrustAnchors).Thumbprint);
    }

    [Theory]
    [InlineData("tls.crt")]
    [InlineData("tls.key")]
    [InlineData("ca.crt")]
    public void Constructor_MissingFile_NamesIt(string file)
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        File.Delete(Path.Combine(_directory, file));

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.EndsWith(file, error.File, StringComparison.Ordinal);
        Assert.Contains($"{file}: file not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_MissingDirectory_NamesFile()
    {
        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: directory not found", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tls.crt", "no PEM certificate")]
    [InlineData("ca.crt", "no PEM certificate")]
    [InlineData("tls.key", "no PEM ECDSA private key")]
    public void Constructor_NotPem_NamesFile(string file, string reason)
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        File.WriteAllText(Path.Combine(_directory, file), "this is not PEM\n");

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains($"{file}: {reason}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_CorruptPemBody_NamesFile()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        File.WriteAllText(Path.Combine(_directory, "tls.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: invalid PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_KeyOfAnotherCertificate_SaysMismatch()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        var other = _pki.IssueLeaf(TestPki.Id("default", "other"));
        using var otherKey = other.GetECDsaPrivateKey()!;
        File.WriteAllText(Path.Combine(_directory, "tls.key"), otherKey.ExportPkcs8PrivateKeyPem());

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.key: the private key does not match the certificate in tls.crt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_ExpiredLeaf_SaysExpired()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web"), TestPki.Now.AddDays(-2), TestPki.Now.AddDays(-1)));

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: certificate expired at", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_LeafNotYetValid_SaysSo()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web"), TestPki.Now.AddHours(1), TestPki.Now.AddDays(1)));

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: certificate is not valid before", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_LeafWithoutSpiffeId_SaysSo()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(["https://example.org/web"]));

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: the leaf certificate carries no mesh identity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_OtherTrustAnchor_SaysNoChain()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")), trust: TestPki.Create("other"));

        var error = Assert.Throws<IdentityLoadException>(() => new FileIdentitySource(_directory, _time));

        Assert.Contains("tls.crt: the leaf certificate does not chain to a trust anchor in ca.crt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reload_NewFiles_SwapsIdentityAndSignalsChange()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        using var source = new FileIdentitySource(_directory, _time);
        var token = source.GetChangeToken();
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "renamed")));

        var reloaded = source.Reload();

        Assert.True(token.HasChanged);
        Assert.Same(reloaded, source.Current);
        Assert.Equal(TestPki.Id("default", "renamed"), source.Current.Id.Value);
        Assert.False(source.GetChangeToken().HasChanged);
    }

    [Fact]
    public void Reload_InvalidFiles_KeepsPreviousIdentity()
    {
        _pki.WriteFiles(_directory, _pki.IssueLeaf(TestPki.Id("default", "web")));
        using var source = new FileIdentitySource(_directory, _time);
        var before = source.Current;
        var token = source.GetChangeToken();
        File.WriteAllText(Path.Combine(_directory, "tls.key"), "garbage");

        Assert.Throws<IdentityLoadException>(() => source.Reload());

        Assert.Same(before, source.Current);
        Assert.False(token.HasChanged);
    }
}
