using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Trellis.Api.Identity.V1;
using Trellis.Controller.Identity;
using Trellis.Controller.Registry;
using Trellis.Controller.Tokens;

namespace Trellis.Controller.Tests.Identity;

public sealed class IdentityServiceTests : IDisposable
{
    private const string Spiffe = "spiffe://cluster.local/ns/demo/sa/web";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly CertificateAuthority _ca;
    private readonly WorkloadTokens _tokens;
    private readonly IdentityLedger _ledger = new();
    private readonly IdentityService _service;

    public IdentityServiceTests()
    {
        _ca = CertificateAuthority.LoadOrCreate(_dir.State, "cluster.local", _time);
        _tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);
        var options = new ControllerOptions
        {
            State = _dir.State,
            Listen = [],
            PodRange = AddressRange.Parse("10.42.0.0/16", "pods"),
            ServiceRange = AddressRange.Parse("10.43.0.0/16", "services"),
        };
        _service = new IdentityService(_ca, _tokens, _ledger, options, NullLogger<IdentityService>.Instance);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Certify_ValidTokenAndCsr_ReturnsChainToTrustAnchor()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var response = _service.Certify(Request(_tokens.Issue("demo", "web", TimeSpan.FromDays(1)).Token, Spiffe, key));

        using var leaf = X509CertificateLoader.LoadCertificate(response.LeafCertificate.ToByteArray());
        using var issuer = X509CertificateLoader.LoadCertificate(response.IntermediateCertificates[0].ToByteArray());
        Assert.True(ChainVerifier.Verify(leaf, [issuer], _ca.TrustAnchor, _time.GetUtcNow()).IsValid);
        Assert.Equal(_time.GetUtcNow().AddHours(24), response.ValidUntil.ToDateTimeOffset(), TimeSpan.FromSeconds(1));
        Assert.NotNull(_ledger.ExpiryOf(Spiffe));
    }

    [Fact]
    public void Certify_NoToken_Unauthenticated()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var e = Assert.Throws<RpcException>(() => _service.Certify(Request(string.Empty, Spiffe, key)));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public void Certify_TokenForAnotherIdentity_PermissionDenied()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = _tokens.Issue("demo", "client", TimeSpan.FromDays(1)).Token;

        var e = Assert.Throws<RpcException>(() => _service.Certify(Request(token, Spiffe, key)));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Contains("spiffe://cluster.local/ns/demo/sa/client", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Certify_MalformedCsr_InvalidArgument()
    {
        var request = new CertifyRequest
        {
            Identity = Spiffe,
            Token = _tokens.Issue("demo", "web", TimeSpan.FromDays(1)).Token,
            CertificateSigningRequest = ByteString.CopyFromUtf8("not a csr"),
        };

        var e = Assert.Throws<RpcException>(() => _service.Certify(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    private static CertifyRequest Request(string token, string identity, ECDsa key) => new()
    {
        Identity = identity,
        Token = token,
        CertificateSigningRequest = ByteString.CopyFrom(Csr.For(key, identity)),
    };
}
