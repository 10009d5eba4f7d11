using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Trellis.Proxy.ControlPlane;
using IdentityApi = Trellis.Api.Identity.V1.Identity;

namespace Trellis.Proxy.Tests.ControlPlane;

public sealed class IdentityClientTests : IAsyncLifetime
{
    private const string Me = "spiffe://trellis.test/ns/demo/sa/web";

    private readonly ControlPlaneFixture _fixture = new();
    private readonly string _tokenFile = Path.GetTempFileName();
    private IdentityScript _script = null!;
    private TestController _controller = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_tokenFile, "good-token\n");
        _script = new IdentityScript(_fixture.Pki, _fixture.Time);
        _controller = await _fixture.StartControllerAsync(identity: _script);
    }

    public async Task DisposeAsync()
    {
        await _fixture.DisposeAsync();
        File.Delete(_tokenFile);
    }

    private IdentityClient NewClient(string identity = Me, string? tokenFile = null) => new(
        new IdentityApi.IdentityClient(_fixture.Channel(_controller.Port)),
        new IdentityClientOptions { Identity = identity, TokenPath = tokenFile ?? _tokenFile, Backoff = ControlPlaneFixture.Backoff },
        _fixture.Pki.Anchors,
        _fixture.Time,
        NullLogger.Instance);

    [Fact]
    public async Task CertifyAsync_Request_CsrCarriesSpiffeIdAndTokenButNoPrivateKey()
    {
        await using var client = NewClient();

        var issued = await client.CertifyAsync(CancellationToken.None);

        var request = Assert.Single(_script.Requests);
        Assert.Equal(Me, request.Identity);
        Assert.Equal("good-token", request.Token);
        var csr = CertificateRequest.LoadSigningRequest(request.CertificateSigningRequest.ToByteArray(), HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        using var fromCsr = csr.Create(_fixture.Pki.Issuer, _fixture.Time.GetUtcNow(), _fixture.Time.GetUtcNow().AddDays(1), [1]);
        Assert.True(CertificateNames.HasUri(fromCsr, Me));

        // The key pair is the one in the certificate; its private part appears nowhere in what was sent.
        using var privateKey = issued.Certificate.GetECDsaPrivateKey()!;
        var d = privateKey.ExportParameters(includePrivateParameters: true).D!;
        Assert.Equal(privateKey.ExportSubjectPublicKeyInfo(), csr.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(-1, request.ToByteArray().AsSpan().IndexOf(d));
    }

    [Fact]
    public async Task CertifyAsync_Response_CertificateWithUsableKeyChainAndExpiry()
    {
        await using var client = NewClient();

        var issued = await client.CertifyAsync(CancellationToken.None);

        Assert.Equal(Me, issued.Identity);
        Assert.True(issued.Certificate.HasPrivateKey);
        using var key = issued.Certificate.GetECDsaPrivateKey()!;
        var signature = key.SignData("hello"u8, HashAlgorithmName.SHA256);
        using var publicKey = issued.Certificate.GetECDsaPublicKey()!;
        Assert.True(publicKey.VerifyData("hello"u8, signature, HashAlgorithmName.SHA256));
        Assert.Equal(_fixture.Pki.Issuer.Thumbprint, Assert.Single(issued.Intermediates).Thumbprint);
        Assert.Equal(TimeSpan.FromHours(10), issued.ValidUntil - issued.ValidFrom);
    }

    [Fact]
    public async Task Start_AtSeventyPercentOfLifetime_Renews()
    {
        await using var client = NewClient();
        var changes = new List<WorkloadCertificate>();
        client.Changed += (_, certificate) => { lock (changes) changes.Add(certificate); };

        client.Start();
        var first = await client.FirstCertificate;
        Assert.Single(_script.Requests);

        // 10 h lifetime: nothing happens before 7 h ...
        _fixture.Time.Advance(TimeSpan.FromHours(6.9));
        await Task.Delay(100);
        Assert.Single(_script.Requests);

        // ... and a new certificate, for a new key, right after.
        _fixture.Time.Advance(TimeSpan.FromHours(0.1));
        await Eventually.TrueAsync(() => { lock (changes) return changes.Count == 2; }, "renewal");
        Assert.Equal(2, _script.Requests.Count);
        Assert.NotSame(first, client.Current);
        Assert.NotEqual(first.Certificate.GetPublicKey(), client.Current!.Certificate.GetPublicKey());
    }

    [Fact]
    public async Task Start_CertifyFails_RetriesWithBackoffUntilIssued()
    {
        _script.FailNext = 3;
        await using var client = NewClient();

        client.Start();
        await Eventually.TrueAsync(() => client.FirstCertificate.IsCompleted, "certificate after retries", _fixture.Time);

        Assert.Equal(4, _script.Requests.Count);
        Assert.NotNull(client.Current);
    }

    [Fact]
    public async Task CertifyAsync_TokenRefused_ThrowsWithStatus()
    {
        await File.WriteAllTextAsync(_tokenFile, "stolen-token");
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<IdentityException>(() => client.CertifyAsync(CancellationToken.None));

        Assert.Contains("Unauthenticated", error.Message);
    }

    [Fact]
    public async Task CertifyAsync_EmptyTokenFile_ThrowsNamingTheFile()
    {
        await File.WriteAllTextAsync(_tokenFile, "  \n");
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<IdentityException>(() => client.CertifyAsync(CancellationToken.None));

        Assert.Contains(_tokenFile, error.Message);
        Assert.Empty(_script.Requests);
    }

    [Fact]
    public async Task CertifyAsync_MissingTokenFile_ThrowsNamingTheFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), "trellis-no-such-token-" + Guid.NewGuid());
        await using var client = NewClient(tokenFile: missing);

        var error = await Assert.ThrowsAsync<IdentityException>(() => client.CertifyAsync(CancellationToken.None));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public async Task CertifyAsync_CertificateForAnotherKey_Rejected()
    {
        _script.SwapKey = true;
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<IdentityException>(() => client.CertifyAsync(CancellationToken.None));

        Assert.Contains("key", error.Message);
    }

    [Fact]
    public async Task CertifyAsync_CertificateFromUntrustedCa_Rejected()
    {
        _script.Signer = TestPki.CreateCa("CN=rogue", null, _fixture.Time.GetUtcNow());
        await using var client = NewClient();

        var error = await Assert.ThrowsAsync<IdentityException>(() => client.CertifyAsync(CancellationToken.None));

        Assert.Contains("trust anchor", error.Message);
    }

    [Fact]
    public void Constructor_IdentityNotSpiffe_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => NewClient(identity: "web.demo"));

        Assert.Contains("SPIFFE", error.Message);
    }

    [Fact]
    public void BuildSigningRequest_Der_IsPkcs10WithUriSan()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var der = IdentityClient.BuildSigningRequest(key, Me);

        var csr = CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        Assert.Contains(csr.CertificateExtensions, e => e.Oid?.Value == "2.5.29.17");
        Assert.Equal(ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()), ByteString.CopyFrom(csr.PublicKey.ExportSubjectPublicKeyInfo()));
    }
}
