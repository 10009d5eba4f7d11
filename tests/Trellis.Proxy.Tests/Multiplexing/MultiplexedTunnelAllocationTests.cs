using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Multiplexing;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Tests.Http.Http1;
using Trellis.Proxy.Tests.Identity;
using Trellis.Proxy.Tests.Tls;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Multiplexing;

/// <summary>
/// Holds the tunnels' allocations per exchange: small messages back and forth over tunnels that
/// share one mTLS connection, all of them in flight at once on one thread as on a proxy's socket
/// thread, both ends the proxy's own (a <see cref="MultiplexedMeshConnector"/> and a
/// <see cref="MeshTlsServerLayer"/> whose tunnels echo through <see cref="PipeCopy"/>) over
/// in-memory pipes. Every meshed HTTP/1 request crosses a tunnel; the mesh TLS and HTTP/1
/// allocation tests cover the layers under and over it.
/// </summary>
[Collection(nameof(AllocationCollection))]
public class MultiplexedTunnelAllocationTests
{
    // Measured 2026-12-06, .NET 10, 32 tunnels x 1000 rounds of 100-byte messages after 200
    // warm-up rounds, three runs: Release 0.0-0.1 B per exchange (a frame per direction at each
    // end, its payload in a pooled buffer; a tunnel's send that allocated its frame would cost
    // over 100 B); the bound is the mesh hop's. Debug 3250 B: async state machines are classes
    // there; bound ~50% over that.
    private const double ReleaseBoundBytesPerExchange = 4;
    private const double DebugBoundBytesPerExchange = 4900;
    private const int MessageLength = 100;

    /// <summary>The meshed harness runs 20 connections; more than that share the one mTLS connection here.</summary>
    private const int Tunnels = 32;

    private static readonly string ServerId = TestPki.Id("default", "server");
    private static readonly string ClientId = TestPki.Id("default", "client");

    [Fact]
    public async Task Tunnels_SmallExchanges_AllocateLittlePerExchange()
    {
        var pki = TestPki.Create();
        var metrics = new ProxyMetrics(new MetricsRegistry());
        var server = new MeshTlsServerLayer(
            _ => throw new InvalidOperationException("the multiplexing peer must carry the connection"),
            _ => throw new InvalidOperationException("the opaque stack must not be used"),
            new StaticIdentitySource(pki.Identity(ServerId)),
            metrics,
            TimeProvider.System,
            new ListLogger<MeshTlsServerLayer>(),
            multiplexed: new MultiplexedTunnelsLayer(EchoAsync, CancellationToken.None).InvokeAsync);
        // Inline, as the proxy's socket pipes: thread-pool hops would count the test's own work items.
        var inner = new InMemoryConnector(server.InvokeAsync, PipeScheduler.Inline);
        var tls = new MeshTlsConnector(inner, new StaticIdentitySource(pki.Identity(ClientId)), TimeProvider.System, new ListLogger<MeshTlsConnector>());
        await using var connector = new MultiplexedMeshConnector(tls, TimeProvider.System, TimeSpan.FromMinutes(1));
        var message = new byte[MessageLength];
        var tunnels = new List<ConnectionContext>();
        for (var i = 0; i < Tunnels; i++)
        {
            tunnels.Add(await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None));
        }

        Assert.All(tunnels, tunnel => Assert.IsType<MultiplexedStream>(tunnel));
        await AllocationMeasurement.EchoRoundsAsync(tunnels, message, 200);
        const int Rounds = 1000;
        var perExchange = await AllocationMeasurement.LeastBytesPerUnitAsync(() => AllocationMeasurement.EchoRoundsAsync(tunnels, message, Rounds), Rounds * Tunnels);

        foreach (var tunnel in tunnels)
        {
            await tunnel.Transport.Output.CompleteAsync();
            await tunnel.DisposeAsync();
        }

        AllocationMeasurement.AssertUnder(perExchange, ReleaseBoundBytesPerExchange, DebugBoundBytesPerExchange, "exchange");
    }

    private static Task EchoAsync(ProxyConnection tunnel) =>
        PipeCopy.OneWayAsync(tunnel.Transport.Input, tunnel.Transport.Output, CancellationToken.None);
}
