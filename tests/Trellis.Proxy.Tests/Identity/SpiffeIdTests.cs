using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Tests.Identity;

public sealed class SpiffeIdTests
{
    [Fact]
    public void Parse_WorkloadId_SplitsTrustDomainAndPath()
    {
        var id = SpiffeId.Parse("spiffe://cluster.local/ns/default/sa/web");

        Assert.Equal("cluster.local", id.TrustDomain);
        Assert.Equal("/ns/default/sa/web", id.Path);
        Assert.Equal("spiffe://cluster.local/ns/default/sa/web", id.ToString());
        Assert.True(id.TryGetWorkload(out var ns, out var sa));
        Assert.Equal("default", ns);
        Assert.Equal("web", sa);
    }

    [Fact]
    public void ForWorkload_Parts_FormatsMeshId()
    {
        var id = SpiffeId.ForWorkload("example.org", "payments", "api-v2");

        Assert.Equal("spiffe://example.org/ns/payments/sa/api-v2", id.Value);
    }

    [Fact]
    public void TryGetWorkload_OtherPath_ReturnsFalse()
    {
        var id = SpiffeId.Parse("spiffe://example.org/controller");

        Assert.False(id.TryGetWorkload(out _, out _));
    }

    [Fact]
    public void Parse_TrustDomainOnly_HasEmptyPath()
    {
        Assert.Equal(string.Empty, SpiffeId.Parse("spiffe://example.org").Path);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("SPIFFE://example.org/ns/a/sa/b", "scheme")]
    [InlineData("https://example.org/ns/a/sa/b", "scheme")]
    [InlineData("spiffe:///ns/a/sa/b", "trust domain is empty")]
    [InlineData("spiffe://Example.org/ns/a/sa/b", "trust domain contains 'E'")]
    [InlineData("spiffe://example.org:8443/ns/a", "trust domain contains ':'")]
    [InlineData("spiffe://user@example.org/ns/a", "trust domain contains '@'")]
    [InlineData("spiffe://example.org/ns/a/", "trailing")]
    [InlineData("spiffe://example.org//a", "empty segment")]
    [InlineData("spiffe://example.org/ns/../sa", "'..'")]
    [InlineData("spiffe://example.org/ns/./sa", "'.'")]
    [InlineData("spiffe://example.org/ns/a?x=1", "path contains '?'")]
    [InlineData("spiffe://example.org/ns/a#frag", "path contains '#'")]
    [InlineData("spiffe://example.org/ns/a%20b", "path contains '%'")]
    public void TryParse_Invalid_SaysWhy(string value, string reason)
    {
        Assert.False(SpiffeId.TryParse(value, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var thrown = Assert.Throws<FormatException>(() => SpiffeId.Parse(value));
        Assert.Contains(reason, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_TooLong_Fails()
    {
        var value = "spiffe://example.org/" + new string('a', SpiffeId.MaxLength);

        Assert.False(SpiffeId.TryParse(value, out _, out var error));
        Assert.Contains("longer than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromCertificate_OneSpiffeUri_ReturnsIt()
    {
        var pki = TestPki.Create();
        using var leaf = pki.IssueLeaf(TestPki.Id("default", "web"));

        Assert.True(SpiffeId.TryFromCertificate(leaf, out var id, out _));
        Assert.Equal(TestPki.Id("default", "web"), id.Value);
    }

    [Fact]
    public void TryFromCertificate_NoUri_Fails()
    {
        var pki = TestPki.Create();
        using var leaf = pki.IssueLeaf([]);

        Assert.False(SpiffeId.TryFromCertificate(leaf, out _, out var error));
        Assert.Contains("no URI SAN", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromCertificate_TwoUris_Fails()
    {
        var pki = TestPki.Create();
        using var leaf = pki.IssueLeaf([TestPki.Id("a", "b"), TestPki.Id("c", "d")]);

        Assert.False(SpiffeId.TryFromCertificate(leaf, out _, out var error));
        Assert.Contains("more than one URI SAN", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromCertificate_NonSpiffeUri_Fails()
    {
        var pki = TestPki.Create();
        using var leaf = pki.IssueLeaf(["https://example.org/web"]);

        Assert.False(SpiffeId.TryFromCertificate(leaf, out _, out var error));
        Assert.Contains("is not a SPIFFE ID", error, StringComparison.Ordinal);
    }
}
