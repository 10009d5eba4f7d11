using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.ControlPlane;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Tests.ControlPlane;
using Trellis.Proxy.Transport;
using static Trellis.Proxy.Tests.ControlPlane.DestinationScript;
using ApiProtocol = Trellis.Api.Destination.V1.ProtocolHint.Types.Protocol;

namespace Trellis.Proxy.Tests.Discovery;

public sealed class ControlPlaneResolverTests : IAsyncLifetime
{
    private const string WebId = "spiffe://trellis.test/ns/demo/sa/web";
    private static readonly IPEndPoint Web1 = new(IPAddress.Parse("10.42.0.11"), 4143);
    private static readonly IPEndPoint Web2 = new(IPAddress.Parse("10.42.0.12"), 4143);
    private static readonly IPEndPoint ServiceIp = new(IPAddress.Parse("10.43.0.12"), 8080);
    private static readonly Dictionary<string, string> WebLabels = new() { ["dst_namespace"] = "demo", ["dst_service"] = "web" };

    private readonly ControlPlaneFixture _fixture = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    private static ProxyConnection Connection(IPEndPoint target)
    {
        var pair = new Pipe();
        var context = new DefaultConnectionContext("test", new DuplexPipe(pair.Reader, pair.Writer), new DuplexPipe(pair.Reader, pair.Writer));
        return new ProxyConnection(context, TrafficDirection.Outbound, target);
    }

    private async Task<(TestController Controller, ControlPlaneResolver Resolver)> StartAsync()
    {
        var controller = await _fixture.StartControllerAsync();
        var client = _fixture.DestinationClient(controller.Port);
        return (controller, new ControlPlaneResolver(client, _fixture.Time, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ResolveAsync_KnownAuthority_BalancedEndpointWithIdentityHintLabelsAndCompletion()
    {
        var (controller, resolver) = await StartAsync();
        controller.Destinations.Send("web.demo.svc.cluster.local:8080", Add(WebLabels, Endpoint(Web1, WebId, ApiProtocol.H2, "web-1")));

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "web.demo:8080", CancellationToken.None);

        Assert.Equal(Web1, endpoint.Address);
        Assert.Equal(WebId, endpoint.Identity);
        Assert.Equal(ProtocolHint.Http2, endpoint.ProtocolHint);
        Assert.Equal("demo", endpoint.Labels!["dst_namespace"]);
        Assert.Equal("web", endpoint.Labels["dst_service"]);
        Assert.True(endpoint.Completion.IsTracked);
        endpoint.Completion.Complete(failed: false);
    }

    [Fact]
    public async Task ResolveAsync_SpellingsOfOneService_ShareOneStream()
    {
        var (controller, resolver) = await StartAsync();
        controller.Destinations.Send("web.demo.svc.cluster.local:80", Add(WebLabels, Endpoint(Web1)));

        await resolver.ResolveAsync(Connection(ServiceIp), "web.demo", CancellationToken.None);
        await resolver.ResolveAsync(Connection(ServiceIp), "web.demo:80", CancellationToken.None);
        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "WEB.demo.svc.cluster.local", CancellationToken.None);

        Assert.Equal(Web1, endpoint.Address);
        Assert.Single(controller.Destinations.Requests);
    }

    [Fact]
    public async Task ResolveAsync_InFlightRequests_SpreadAcrossEndpoints()
    {
        var (controller, resolver) = await StartAsync();
        controller.Destinations.Send("web.demo.svc.cluster.local:80", Add(WebLabels, Endpoint(Web1), Endpoint(Web2)));

        var seen = new HashSet<IPEndPoint>();
        for (var i = 0; i < 10; i++)
            seen.Add((await resolver.ResolveAsync(Connection(ServiceIp), "web.demo", CancellationToken.None)).Address);

        Assert.True(seen.SetEquals([Web1, Web2]));
    }

    [Fact]
    public async Task ResolveAsync_AuthorityUnknownToController_FallsBackToOriginalDestination()
    {
        var (_, resolver) = await StartAsync();

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "legacy.elsewhere:8080", CancellationToken.None);

        Assert.Equal(ServiceIp, endpoint.Address);
        Assert.Null(endpoint.Identity);
        Assert.Null(endpoint.Labels);
        Assert.False(endpoint.Completion.IsTracked);
    }

    [Fact]
    public async Task ResolveAsync_Tcp_ResolvesByOriginalDestination()
    {
        var (controller, resolver) = await StartAsync();
        controller.Destinations.Send("10.43.0.12:8080", Add(WebLabels, Endpoint(Web2, WebId, ApiProtocol.Opaque)));

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), authority: null, CancellationToken.None);

        Assert.Equal(Web2, endpoint.Address);
        Assert.Equal(ProtocolHint.Opaque, endpoint.ProtocolHint);
        Assert.Equal("10.43.0.12:8080", Assert.Single(controller.Destinations.Requests).Path);
    }

    [Fact]
    public async Task ResolveAsync_ExternalAuthority_ResolvesByOriginalDestinationAddress()
    {
        var (controller, resolver) = await StartAsync();
        controller.Destinations.Send("10.43.0.12:8080", Add(WebLabels, Endpoint(Web2)));

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "api.example.co.uk", CancellationToken.None);

        Assert.Equal(Web2, endpoint.Address);
        Assert.Equal("10.43.0.12:8080", Assert.Single(controller.Destinations.Requests).Path);
    }

    [Fact]
    public async Task ResolveAsync_ControllerUnreachable_FallsBackToOriginalDestination()
    {
        var controller = await _fixture.StartControllerAsync();
        var port = controller.Port;
        await controller.KillAsync();
        var resolver = new ControlPlaneResolver(_fixture.DestinationClient(port), _fixture.Time, TimeSpan.FromSeconds(5));

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "web.demo", CancellationToken.None);

        Assert.Equal(ServiceIp, endpoint.Address);
    }

    [Fact]
    public async Task ResolveAsync_ControllerSilent_FallsBackAfterResolveTimeout()
    {
        // The controller accepts the stream but never answers for this path.
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Channel("web.demo.svc.cluster.local:80");
        var resolver = new ControlPlaneResolver(_fixture.DestinationClient(controller.Port), _fixture.Time, TimeSpan.FromSeconds(1));

        var pending = resolver.ResolveAsync(Connection(ServiceIp), "web.demo", CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => pending.IsCompleted, "fallback after the resolve timeout", _fixture.Time, TimeSpan.FromMilliseconds(500));

        Assert.Equal(ServiceIp, (await pending).Address);
    }

    [Fact]
    public async Task ResolveAsync_LimitOfDestinationsReached_FallsBackToOriginalDestination()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send("web.demo.svc.cluster.local:80", Add(WebLabels, Endpoint(Web1)));
        var client = _fixture.DestinationClient(controller.Port, new DestinationClientOptions { MaxDestinations = 1, Backoff = ControlPlaneFixture.Backoff });
        var resolver = new ControlPlaneResolver(client, _fixture.Time, TimeSpan.FromSeconds(5));
        await resolver.ResolveAsync(Connection(ServiceIp), "web.demo", CancellationToken.None);

        var endpoint = await resolver.ResolveAsync(Connection(ServiceIp), "other.demo", CancellationToken.None);

        Assert.Equal(ServiceIp, endpoint.Address);
    }

    [Fact]
    public void Constructor_NegativeTimeout_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneResolver(null!, _fixture.Time, TimeSpan.FromSeconds(-1)));
    }
}
