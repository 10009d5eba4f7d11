using System.Net.Security;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.ControlPlane;

namespace Trellis.Proxy.Tests.ControlPlane;

public class ControllerCertificateValidatorTests
{
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private readonly TestPki _pki;

    public ControllerCertificateValidatorTests() => _pki = new TestPki(_time.GetUtcNow());

    private bool Validate(string expectedName, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        using var presented = new System.Security.Cryptography.X509Certificates.X509Chain();
        presented.ChainPolicy.ExtraStore.Add(_pki.Issuer);
        return new ControllerCertificateValidator(_pki.Anchors, expectedName, _time)
            .Validate(this, certificate, presented, SslPolicyErrors.RemoteCertificateChainErrors);
    }

    [Fact]
    public void Validate_TrustedCertificateWithDnsName_Accepted() =>
        Assert.True(Validate(TestPki.ControllerName, _pki.ServerCertificate(_time.GetUtcNow())));

    [Fact]
    public void Validate_TrustedCertificateWithSpiffeId_Accepted() =>
        Assert.True(Validate(TestPki.ControllerSpiffeId, _pki.ServerCertificate(_time.GetUtcNow())));

    [Fact]
    public void Validate_OtherName_Rejected()
    {
        Assert.False(Validate("destination.other.test", _pki.ServerCertificate(_time.GetUtcNow())));
        Assert.False(Validate("spiffe://trellis.test/ns/trellis/sa/other", _pki.ServerCertificate(_time.GetUtcNow())));
    }

    [Fact]
    public void Validate_OtherCa_Rejected()
    {
        var rogue = TestPki.CreateCa("CN=rogue", null, _time.GetUtcNow());

        Assert.False(Validate(TestPki.ControllerName, _pki.ServerCertificate(_time.GetUtcNow(), signer: rogue)));
    }

    [Fact]
    public void Validate_Expired_Rejected()
    {
        var certificate = _pki.ServerCertificate(_time.GetUtcNow());
        _time.Advance(TimeSpan.FromDays(31));

        Assert.False(Validate(TestPki.ControllerName, certificate));
    }

    [Fact]
    public void Validate_NoCertificate_Rejected()
    {
        var validator = new ControllerCertificateValidator(_pki.Anchors, TestPki.ControllerName, _time);

        Assert.False(validator.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }
}
