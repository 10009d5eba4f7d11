using System.Net;
using Trellis.Controller.Destination;

namespace Trellis.Controller.Tests.Destination;

public sealed class DestinationPathTests
{
    [Theory]
    [InlineData("web.demo.svc.cluster.local:8080", 8080)]
    [InlineData("web.demo.svc:8080", 8080)]
    [InlineData("web.demo:8080", 8080)]
    [InlineData("web.demo", 80)]
    [InlineData("WEB.demo.svc.cluster.local.:9090", 9090)]
    public void TryParse_ServiceName_YieldsNamespaceServicePort(string path, int port)
    {
        Assert.True(DestinationPath.TryParse(path, "cluster.local", out var parsed, out _));

        Assert.Equal("demo", parsed!.Namespace);
        Assert.Equal("web", parsed.Service);
        Assert.Equal(port, parsed.Port);
    }

    [Fact]
    public void TryParse_Address_YieldsAddressAndPort()
    {
        Assert.True(DestinationPath.TryParse("10.43.0.12:8080", "cluster.local", out var parsed, out _));

        Assert.Equal(IPAddress.Parse("10.43.0.12"), parsed!.Address);
        Assert.Equal(8080, parsed.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("web:8080")]
    [InlineData("a.b.c.d.e:1")]
    [InlineData("web.demo:99999")]
    [InlineData("web.demo:http")]
    public void TryParse_Malformed_FailsWithMessage(string path)
    {
        Assert.False(DestinationPath.TryParse(path, "cluster.local", out _, out var error));

        Assert.NotEmpty(error);
    }
}
