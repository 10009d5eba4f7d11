using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1UpstreamPoolTests
{
    private static readonly IPEndPoint Endpoint = new(IPAddress.Loopback, 9000);

    private static (ConnectionContext Connection, DuplexPipe Server) NewConnection()
    {
        var (proxySide, serverSide) = InlinePipePair.Create();
        return (new DefaultConnectionContext("c", proxySide, serverSide), serverSide);
    }

    [Fact]
    public async Task TryRent_AfterReturn_GivesNewestFirst()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(4, TimeSpan.FromSeconds(60), time);
        var endpoint = pool.For(Endpoint);
        var (a, _) = NewConnection();
        var (b, _) = NewConnection();
        endpoint.Return(a);
        endpoint.Return(b);

        Assert.Same(b, endpoint.TryRent());
        Assert.Same(a, endpoint.TryRent());
        Assert.Null(endpoint.TryRent());
    }

    [Fact]
    public async Task Return_WhenFull_ClosesTheExtraConnection()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(1, TimeSpan.FromSeconds(60), time);
        var endpoint = pool.For(Endpoint);
        var (a, _) = NewConnection();
        var (b, bServer) = NewConnection();
        endpoint.Return(a);
        endpoint.Return(b);

        Assert.Equal(1, pool.IdleCount(Endpoint));
        Assert.True(await new TestPeer(bServer).ClosedAsync());
    }

    [Fact]
    public async Task Return_ManyConcurrentConnections_KeepsAllUpToTheBoundNewestFirst()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(40, TimeSpan.FromSeconds(60), time);
        var endpoint = pool.For(Endpoint);
        var connections = Enumerable.Range(0, 41).Select(_ => NewConnection()).ToList();
        foreach (var (connection, _) in connections)
        {
            endpoint.Return(connection);
        }

        Assert.Equal(40, pool.IdleCount(Endpoint));
        Assert.True(await new TestPeer(connections[40].Server).ClosedAsync());
        for (var i = 39; i >= 0; i--)
        {
            Assert.Same(connections[i].Connection, endpoint.TryRent());
        }

        Assert.Null(endpoint.TryRent());
    }

    [Fact]
    public void Defaults_KeepMoreIdleConnectionsPerEndpointThanABusyClientUses() =>
        Assert.True(new Http1Options().MaxIdleConnectionsPerEndpoint >= 1000);

    [Fact]
    public async Task Sweep_IdlePastTimeout_ClosesConnection()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(4, TimeSpan.FromSeconds(10), time);
        var endpoint = pool.For(Endpoint);
        var (a, aServer) = NewConnection();
        endpoint.Return(a);
        time.Advance(TimeSpan.FromSeconds(5));
        var (b, _) = NewConnection();
        endpoint.Return(b);

        time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(1, pool.IdleCount(Endpoint));
        Assert.True(await new TestPeer(aServer).ClosedAsync());
        Assert.Same(b, endpoint.TryRent());
    }

    [Fact]
    public async Task TryRent_PeerClosedWhileIdle_SkipsAndClosesIt()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(4, TimeSpan.FromSeconds(60), time);
        var endpoint = pool.For(Endpoint);
        var (a, aServer) = NewConnection();
        endpoint.Return(a);
        aServer.Output.Complete();

        Assert.Null(endpoint.TryRent());
        Assert.True(await new TestPeer(aServer).ClosedAsync());
    }

    [Fact]
    public async Task TryRent_PeerSentUnsolicitedBytes_SkipsIt()
    {
        var time = new FakeTimeProvider();
        await using var pool = new Http1UpstreamPool(4, TimeSpan.FromSeconds(60), time);
        var endpoint = pool.For(Endpoint);
        var (a, aServer) = NewConnection();
        endpoint.Return(a);
        await aServer.Output.WriteAsync("HTTP/1.1 408 Request Timeout\r\n\r\n"u8.ToArray());

        Assert.Null(endpoint.TryRent());
    }

    [Fact]
    public async Task DisposeAsync_ClosesIdleConnections()
    {
        var time = new FakeTimeProvider();
        var pool = new Http1UpstreamPool(4, TimeSpan.FromSeconds(60), time);
        var (a, aServer) = NewConnection();
        pool.For(Endpoint).Return(a);

        await pool.DisposeAsync();

        Assert.Equal(0, pool.IdleCount(Endpoint));
        Assert.True(await new TestPeer(aServer).ClosedAsync());
    }
}
