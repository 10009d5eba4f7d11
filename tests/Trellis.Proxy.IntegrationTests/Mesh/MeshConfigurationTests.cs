namespace Trellis.Proxy.IntegrationTests.Mesh;

/// <summary>Mesh flags the proxy must refuse at start, saying what is wrong.</summary>
public class MeshConfigurationTests
{
    [Theory]
    [InlineData("tls.crt")]
    [InlineData("tls.key")]
    [InlineData("ca.crt")]
    public async Task IdentityDirMissingAFile_ExitsNonZeroNamingTheFile(string missing)
    {
        using var directory = new TemporaryDirectory();
        using var pki = MeshPki.Create();
        var identity = directory.Combine("identity");
        pki.WriteIdentity(identity, MeshPki.Id("server"));
        File.Delete(Path.Combine(identity, missing));

        var result = await RunProxyAsync("--identity-dir", identity);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(Path.Combine(identity, missing), result.Stderr, StringComparison.Ordinal);
        Assert.Contains("not found", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdentityDirThatDoesNotExist_ExitsNonZeroNamingAFileInIt()
    {
        using var directory = new TemporaryDirectory();
        var absent = directory.Combine("absent");

        var result = await RunProxyAsync("--identity-dir", absent);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(absent + "/", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutboundDestinationIdentityWithoutAnIdentity_ExitsTwo()
    {
        var result = await RunProxyAsync("--outbound-destination", "127.0.0.1:9", "--outbound-destination-identity", MeshPki.Id("server"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--outbound-destination-identity needs an identity", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutboundDestinationIdentityWithoutADestination_ExitsTwo()
    {
        using var directory = new TemporaryDirectory();
        using var pki = MeshPki.Create();
        pki.WriteIdentity(directory.Combine("identity"), MeshPki.Id("client"));

        var result = await RunProxyAsync("--identity-dir", directory.Combine("identity"), "--outbound-destination-identity", MeshPki.Id("server"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--outbound-destination-identity needs --outbound-destination", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs the proxy on free ports; a proxy that started despite bad flags is killed at the timeout and fails the test.</summary>
    private static Task<CommandResult> RunProxyAsync(params string[] arguments) =>
        ExternalCommand.RunAsync(
            RepositoryPaths.ProxyBinary,
            ["--outbound-listen", "127.0.0.1:0", "--inbound-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", .. arguments],
            TimeSpan.FromSeconds(30));
}
