using Trellis.Proxy.ControlPlane;

namespace Trellis.Proxy.Tests.ControlPlane;

public class ControlPlaneOptionsTests
{
    private static ControlPlaneOptions Options(string controller, string? name = null) =>
        new() { Controller = controller, ControllerName = name, TrustAnchorPath = "/dev/null" };

    [Theory]
    [InlineData("127.0.0.1:8086", "127.0.0.1", 8086)]
    [InlineData("controller.trellis:8086", "controller.trellis", 8086)]
    [InlineData("[::1]:8086", "::1", 8086)]
    public void ParseController_Valid_HostAndPort(string value, string host, int port)
    {
        Assert.Equal((host, port), Options(value).ParseController());
    }

    [Theory]
    [InlineData("controller")]
    [InlineData("controller:")]
    [InlineData(":8086")]
    [InlineData("controller:0")]
    [InlineData("controller:99999")]
    [InlineData("controller:port")]
    [InlineData("::1:8086")]
    [InlineData("[]:8086")]
    public void ParseController_Malformed_ThrowsNamingTheFlag(string value)
    {
        var error = Assert.Throws<FormatException>(() => Options(value).ParseController());

        Assert.Contains("--controller", error.Message);
    }

    [Fact]
    public void ExpectedName_NoControllerName_IsHost()
    {
        Assert.Equal("10.0.0.1", Options("10.0.0.1:8086").ExpectedName());
        Assert.Equal("controller.trellis.test", Options("10.0.0.1:8086", "controller.trellis.test").ExpectedName());
    }

    [Fact]
    public void Load_MissingOrEmptyTrustAnchorFile_ClearErrors()
    {
        var missing = Path.Combine(Path.GetTempPath(), "trellis-no-anchor-" + Guid.NewGuid());
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => TrustAnchors.Load(missing)).Message);

        var empty = Path.GetTempFileName();
        try
        {
            Assert.Contains("no PEM certificate", Assert.Throws<InvalidDataException>(() => TrustAnchors.Load(empty)).Message);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public void Load_PemFile_AllCertificates()
    {
        var pki = new TestPki(TimeProvider.System.GetUtcNow());
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, pki.Root.ExportCertificatePem() + "\n" + pki.Issuer.ExportCertificatePem());
            Assert.Equal(2, TrustAnchors.Load(file).Count);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
