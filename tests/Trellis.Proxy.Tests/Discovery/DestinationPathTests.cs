using System.Net;
using Trellis.Proxy.Discovery;

namespace Trellis.Proxy.Tests.Discovery;

public class DestinationPathTests
{
    [Theory]
    [InlineData("web.demo", "web.demo.svc.cluster.local:80")]
    [InlineData("web.demo:8080", "web.demo.svc.cluster.local:8080")]
    [InlineData("Web.Demo.svc.cluster.local", "web.demo.svc.cluster.local:80")]
    [InlineData("web.demo.svc.cluster.local.:9090", "web.demo.svc.cluster.local:9090")]
    [InlineData("web.demo.svc:81", "web.demo.svc.cluster.local:81")]
    [InlineData("10.43.0.12:8080", "10.43.0.12:8080")]
    [InlineData("10.43.0.12", "10.43.0.12:80")]
    [InlineData("[fd00::1]:8080", "[fd00::1]:8080")]
    [InlineData("[fd00::1]", "[fd00::1]:80")]
    public void TryNormalizeAuthority_ServiceOrAddress_OneSpelling(string authority, string expected)
    {
        Assert.True(DestinationPath.TryNormalizeAuthority(authority, out var path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("web")]                    // one label: no namespace
    [InlineData("api.example.co.uk")]      // not name.ns
    [InlineData("web.demo:0")]
    [InlineData("web.demo:65536")]
    [InlineData("web.demo:http")]
    [InlineData("web.demo:")]
    [InlineData("web..demo")]
    [InlineData(".demo")]
    [InlineData("web_demo.ns")]
    [InlineData("user@web.demo")]
    [InlineData("[fd00::1")]
    [InlineData("[fd00::1]8080")]
    [InlineData("")]
    [InlineData(":80")]
    public void TryNormalizeAuthority_NotAServiceName_ReturnsFalse(string authority)
    {
        Assert.False(DestinationPath.TryNormalizeAuthority(authority, out _));
    }

    [Fact]
    public void ForAddress_IPv4AndIPv6_IpColonPort()
    {
        Assert.Equal("10.43.0.12:8080", DestinationPath.ForAddress(new IPEndPoint(IPAddress.Parse("10.43.0.12"), 8080)));
        Assert.Equal("[fd00::1]:443", DestinationPath.ForAddress(new IPEndPoint(IPAddress.Parse("fd00::1"), 443)));
    }
}
