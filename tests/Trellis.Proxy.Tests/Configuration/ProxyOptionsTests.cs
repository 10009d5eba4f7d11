using System.Collections.Frozen;
using System.Net;
using Trellis.Proxy.Configuration;

namespace Trellis.Proxy.Tests.Configuration;

public class ProxyOptionsTests
{
    private static readonly ProxyOptions Plain = new()
    {
        OutboundListen = new IPEndPoint(IPAddress.Loopback, 4140),
        InboundListen = new IPEndPoint(IPAddress.Any, 4143),
        AdminListen = new IPEndPoint(IPAddress.Any, 4191),
        OpaquePorts = FrozenSet<int>.Empty,
        DetectTimeout = TimeSpan.FromSeconds(10),
        ConnectTimeout = TimeSpan.FromSeconds(3),
        ResponseTimeout = Timeout.InfiniteTimeSpan,
        DrainTimeout = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public void Validate_NoMeshFlags_IsFine()
    {
        Assert.Null(Plain.Validate());
    }

    [Fact]
    public void Validate_ControllerWithoutTrustAnchor_SaysSo()
    {
        Assert.Contains("--trust-anchor", (Plain with { Controller = "10.42.0.1:8086" }).Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_IdentityWithoutTokenFile_SaysSo()
    {
        var options = Plain with { Controller = "10.42.0.1:8086", TrustAnchor = "ca.crt", Identity = "spiffe://cluster.local/ns/a/sa/b" };

        Assert.Contains("--identity-token-file", options.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TwoIdentitySources_SaysGiveOne()
    {
        var options = Plain with
        {
            Controller = "10.42.0.1:8086", TrustAnchor = "ca.crt", Identity = "spiffe://cluster.local/ns/a/sa/b",
            IdentityTokenFile = "token", IdentityDirectory = "/etc/identity",
        };

        Assert.Contains("give one", options.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DestinationIdentityWithoutOwnIdentity_SaysSo()
    {
        var options = Plain with
        {
            OutboundDestination = new IPEndPoint(IPAddress.Loopback, 14143),
            OutboundDestinationIdentity = "spiffe://trellis.local/ns/a/sa/server",
        };

        Assert.Contains("--identity-dir or --identity", options.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DestinationIdentityWithoutDestination_SaysSo()
    {
        var options = Plain with { IdentityDirectory = "/etc/identity", OutboundDestinationIdentity = "spiffe://trellis.local/ns/a/sa/server" };

        Assert.Contains("needs --outbound-destination", options.Validate(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("250ms", 0.25)]
    [InlineData("10s", 10)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("7", 7)]
    public void ParseDuration_Units_AreSeconds(string text, double seconds)
    {
        var (value, error) = ProxyCommandLine.ParseDuration(text);

        Assert.Null(error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("127.0.0.1:4140", true)]
    [InlineData("[::1]:4140", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("web:80", false)]
    public void ParseEndpoint_RequiresAnAddressAndAPort(string text, bool valid)
    {
        Assert.Equal(valid, ProxyCommandLine.ParseEndpoint(text).Error is null);
    }

    [Fact]
    public void EnvironmentName_IsFlagInUpperSnakeCase()
    {
        Assert.Equal("TRELLIS_PROXY_OUTBOUND_DESTINATION_IDENTITY", ProxyCommandLine.EnvironmentName("--outbound-destination-identity"));
    }
}
