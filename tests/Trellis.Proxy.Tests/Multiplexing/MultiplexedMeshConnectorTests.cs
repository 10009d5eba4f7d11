using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Multiplexing;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Tests.Identity;
using Trellis.Proxy.Tests.Tls;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Multiplexing;

/// <summary>
/// A <see cref="MultiplexedMeshConnector"/> dialling a real <see cref="MeshTlsServerLayer"/> over
/// in-memory pipes: tunnels share one mTLS connection when the peer multiplexes, and each call
/// gets its own connection when it does not.
/// </summary>
public sealed class MultiplexedMeshConnectorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string ServerId = TestPki.Id("default", "server");
    private static readonly string ClientId = TestPki.Id("default", "client");

    private readonly TestPki _pki = TestPki.Create();
    private readonly List<ProxyConnection> _tunnels = [];
    private int _dials;

    [Fact]
    public async Task Connect_PeerThatMultiplexes_TunnelsShareOneConnectionAndCarryTheCallersIdentity()
    {
        await using var connector = Connector(multiplexingPeer: true);

        var first = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        var second = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);

        Assert.Equal("one"u8.ToArray(), await EchoAsync(first, "one"u8.ToArray()));
        Assert.Equal("two"u8.ToArray(), await EchoAsync(second, "two"u8.ToArray()));
        Assert.IsType<MultiplexedStream>(first);
        Assert.Equal(1, _dials);
        Assert.Equal(2, _tunnels.Count);
        Assert.All(_tunnels, tunnel => Assert.Equal(new ConnectionTls(true, ClientId), tunnel.Tls));
        Assert.All(_tunnels, tunnel => Assert.Equal(InMemoryConnector.Target, tunnel.Target));
    }

    [Fact]
    public async Task Connect_PeerWithoutMultiplexing_EachCallGetsItsOwnMeshConnection()
    {
        await using var connector = Connector(multiplexingPeer: false);

        var first = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        var second = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);

        Assert.Equal("one"u8.ToArray(), await EchoAsync(first, "one"u8.ToArray()));
        Assert.Equal("two"u8.ToArray(), await EchoAsync(second, "two"u8.ToArray()));
        Assert.IsType<TlsConnectionContext>(first);
        // The probe that found out, then one connection per call.
        Assert.Equal(3, _dials);
        Assert.Empty(_tunnels);
    }

    [Fact]
    public async Task Connect_PeerWithAnotherIdentity_FailsLikeAMeshHandshake()
    {
        await using var connector = Connector(multiplexingPeer: true);

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(async () =>
            await connector.ConnectAsync(InMemoryConnector.Target, TestPki.Id("default", "someone-else"), CancellationToken.None));

        Assert.Equal(ProxyError.UpstreamProtocolError, error.Error);
        Assert.Empty(_tunnels);
    }

    private MultiplexedMeshConnector Connector(bool multiplexingPeer)
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());
        var layer = new MeshTlsServerLayer(
            EchoServerAsync,
            _ => throw new InvalidOperationException("the opaque stack must not be used"),
            new StaticIdentitySource(_pki.Identity(ServerId)),
            metrics,
            TimeProvider.System,
            new ListLogger<MeshTlsServerLayer>(),
            multiplexed: multiplexingPeer ? new MultiplexedTunnelsLayer(TunnelAsync, CancellationToken.None).InvokeAsync : null);
        var inner = new CountingConnector(new InMemoryConnector(layer.InvokeAsync), () => Interlocked.Increment(ref _dials));
        var tls = new MeshTlsConnector(inner, new StaticIdentitySource(_pki.Identity(ClientId)), TimeProvider.System, new ListLogger<MeshTlsConnector>());
        return new MultiplexedMeshConnector(tls, TimeProvider.System, TimeSpan.FromMinutes(1));
    }

    private Task TunnelAsync(ProxyConnection tunnel)
    {
        lock (_tunnels)
        {
            _tunnels.Add(tunnel);
        }

        return EchoServerAsync(tunnel);
    }

    private static Task EchoServerAsync(ProxyConnection connection) =>
        PipeCopy.OneWayAsync(connection.Transport.Input, connection.Transport.Output, CancellationToken.None);

    private static async Task<byte[]> EchoAsync(ConnectionContext connection, byte[] payload)
    {
        await connection.Transport.Output.WriteAsync(payload);
        await connection.Transport.Output.CompleteAsync();
        var received = new List<byte>();
        while (true)
        {
            var result = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(Bound);
            received.AddRange(result.Buffer.ToArray());
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await connection.DisposeAsync();
                return [.. received];
            }
        }
    }

    private sealed class CountingConnector(IUpstreamConnector inner, Action dialled) : IUpstreamConnector
    {
        public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
        {
            dialled();
            return inner.ConnectAsync(endpoint, cancellationToken);
        }
    }
}
