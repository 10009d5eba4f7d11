using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
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
    public async Task Connect_PeerUpgradedInPlace_IsAskedAgainAfterTheRecheck()
    {
        var time = new FakeTimeProvider();
        var multiplexingPeer = false;
        await using var connector = Connector(() => multiplexingPeer, time);
        var before = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        Assert.Equal("one"u8.ToArray(), await EchoAsync(before, "one"u8.ToArray()));
        Assert.Equal(2, _dials);

        multiplexingPeer = true;
        time.Advance(MultiplexedMeshConnector.UnsupportedRecheck - TimeSpan.FromSeconds(1));
        var withinRecheck = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        var afterRecheck = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        var shared = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);

        Assert.IsType<TlsConnectionContext>(withinRecheck);
        Assert.IsType<MultiplexedStream>(afterRecheck);
        Assert.IsType<MultiplexedStream>(shared);
        Assert.Equal("two"u8.ToArray(), await EchoAsync(afterRecheck, "two"u8.ToArray()));
        Assert.Equal("three"u8.ToArray(), await EchoAsync(shared, "three"u8.ToArray()));
        // The per-call connection within the recheck, then one probe that became the shared connection.
        Assert.Equal(4, _dials);
        await withinRecheck.DisposeAsync();
    }

    /// <summary>The idle memory release counts this as traffic: a shared connection's end runs code and frees memory.</summary>
    [Fact]
    public async Task SharedConnection_OpenedThenIdledOut_EachMovesTheCount()
    {
        var time = new FakeTimeProvider();
        await using var connector = Connector(() => true, time);
        Assert.Equal(0, connector.ConnectionsOpenedOrClosed);

        var tunnel = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        Assert.Equal("one"u8.ToArray(), await EchoAsync(tunnel, "one"u8.ToArray()));
        Assert.Equal(1, connector.ConnectionsOpenedOrClosed);

        await ControlPlane.Eventually.TrueAsync(() => connector.ConnectionsOpenedOrClosed == 2, "the idle shared connection closed", time, TimeSpan.FromSeconds(30));
        var next = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        Assert.Equal("two"u8.ToArray(), await EchoAsync(next, "two"u8.ToArray()));
        Assert.Equal(2, _dials);
        Assert.Equal(3, connector.ConnectionsOpenedOrClosed);
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

    private MultiplexedMeshConnector Connector(bool multiplexingPeer) => Connector(() => multiplexingPeer, TimeProvider.System);

    /// <param name="multiplexingPeer">Read at each dial: whether the peer offers the multiplexed protocol.</param>
    private MultiplexedMeshConnector Connector(Func<bool> multiplexingPeer, TimeProvider time)
    {
        var multiplexing = Layer(new MultiplexedTunnelsLayer(TunnelAsync, CancellationToken.None).InvokeAsync);
        var plain = Layer(multiplexed: null);
        var inner = new CountingConnector(
            new InMemoryConnector(connection => multiplexingPeer() ? multiplexing.InvokeAsync(connection) : plain.InvokeAsync(connection)),
            () => Interlocked.Increment(ref _dials));
        var tls = new MeshTlsConnector(inner, new StaticIdentitySource(_pki.Identity(ClientId)), TimeProvider.System, new ListLogger<MeshTlsConnector>());
        return new MultiplexedMeshConnector(tls, time, TimeSpan.FromMinutes(1));
    }

    private MeshTlsServerLayer Layer(ProxyConnectionHandler? multiplexed) => new(
        EchoServerAsync,
        _ => throw new InvalidOperationException("the opaque stack must not be used"),
        new StaticIdentitySource(_pki.Identity(ServerId)),
        new ProxyMetrics(new MetricsRegistry()),
        TimeProvider.System,
        new ListLogger<MeshTlsServerLayer>(),
        multiplexed: multiplexed);

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
