using System.Net;
using Trellis.Proxy.IntegrationTests.Http1;

namespace Trellis.Proxy.IntegrationTests.Mesh;

/// <summary>
/// One test's mesh: a fresh PKI with a client and a server identity written as the proxies'
/// identity directories, and the way each proxy is started.
/// </summary>
internal sealed class MeshFixture : IDisposable
{
    private readonly TemporaryDirectory _directory = new();
    private readonly MeshPki _pki = MeshPki.Create();

    public MeshFixture()
    {
        _pki.WriteIdentity(ClientIdentityDirectory, MeshPki.Id("client"));
        _pki.WriteIdentity(ServerIdentityDirectory, MeshPki.Id("server"));
    }

    public string ClientIdentityDirectory => _directory.Combine("client");

    public string ServerIdentityDirectory => _directory.Combine("server");

    /// <summary>The server side: mTLS terminated on its inbound listener, plaintext to the origin.</summary>
    public Task<ProxyProcess> StartServerProxyAsync(HeadRecordingOrigin origin) => StartServerProxyAsync(origin.EndPoint);

    public Task<ProxyProcess> StartServerProxyAsync(IPEndPoint origin) =>
        ProxyProcess.StartAsync(["--inbound-destination", origin.ToString(), "--identity-dir", ServerIdentityDirectory]);

    /// <summary>The client side: plaintext in on its outbound listener, mTLS to <paramref name="destination"/>, which must prove <paramref name="identity"/>.</summary>
    public Task<ProxyProcess> StartClientProxyAsync(IPEndPoint destination, string identity) =>
        ProxyProcess.StartAsync([
            "--outbound-destination", destination.ToString(),
            "--outbound-destination-identity", identity,
            "--identity-dir", ClientIdentityDirectory,
        ]);

    public void Dispose()
    {
        _pki.Dispose();
        _directory.Dispose();
    }
}
