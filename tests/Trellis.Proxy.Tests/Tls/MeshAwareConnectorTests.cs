using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Tests.Identity;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Tls;

public class MeshAwareConnectorTests
{
    private static readonly IPEndPoint Address = new(IPAddress.Loopback, 4143);

    [Fact]
    public async Task Connect_EndpointWithoutIdentity_DialsPlain()
    {
        var plain = new RecordingConnector();
        var mesh = new RecordingConnector();
        var connector = NewConnector(plain, mesh);

        await using var connection = await ((IUpstreamConnector)connector).ConnectAsync(new UpstreamEndpoint(Address), CancellationToken.None);

        Assert.Equal(1, plain.Calls);
        Assert.Equal(0, mesh.Calls);
    }

    [Fact]
    public async Task Connect_EndpointWithIdentity_GoesThroughMeshTls()
    {
        var plain = new RecordingConnector();
        var mesh = new RecordingConnector();
        var connector = NewConnector(plain, mesh);

        // The recording peer never answers the handshake, so the mesh path fails on its timeout;
        // what matters is that it was the mesh path that dialled.
        await Assert.ThrowsAsync<UpstreamConnectException>(async () =>
            await ((IUpstreamConnector)connector).ConnectAsync(new UpstreamEndpoint(Address) { Identity = TestPki.Id("test", "server") }, CancellationToken.None));

        Assert.Equal(0, plain.Calls);
        Assert.Equal(1, mesh.Calls);
    }

    private static MeshAwareConnector NewConnector(RecordingConnector plain, RecordingConnector meshInner)
    {
        var pki = TestPki.Create();
        var identity = new StaticIdentitySource(pki.Identity(TestPki.Id("test", "client")));
        var tls = new MeshTlsConnector(meshInner, identity, TimeProvider.System, NullLogger<MeshTlsConnector>.Instance, TimeSpan.FromMilliseconds(200));
        return new MeshAwareConnector(plain, tls);
    }

    private sealed class RecordingConnector : IUpstreamConnector
    {
        public int Calls { get; private set; }

        public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
        {
            Calls++;
            var pair = DuplexPipePair.Create();
            return ValueTask.FromResult<ConnectionContext>(new DefaultConnectionContext("recorded", pair.Transport, pair.Application));
        }
    }
}
