using System.Net;
using Trellis.Proxy.ControlPlane;
using Trellis.Proxy.Discovery;
using static Trellis.Proxy.Tests.ControlPlane.DestinationScript;
using ApiProtocol = Trellis.Api.Destination.V1.ProtocolHint.Types.Protocol;

namespace Trellis.Proxy.Tests.ControlPlane;

public sealed class DestinationClientTests : IAsyncLifetime
{
    private const string WebPath = "web.demo.svc.cluster.local:8080";
    private const string WebId = "spiffe://trellis.test/ns/demo/sa/web";
    private static readonly IPEndPoint Web1 = new(IPAddress.Parse("10.42.0.11"), 4143);
    private static readonly IPEndPoint Web2 = new(IPAddress.Parse("10.42.0.12"), 4143);
    private static readonly IPEndPoint Web3 = new(IPAddress.Parse("10.42.0.13"), 4143);
    private static readonly Dictionary<string, string> WebLabels = new() { ["dst_namespace"] = "demo", ["dst_service"] = "web" };

    private readonly ControlPlaneFixture _fixture = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    private static HashSet<IPEndPoint> Addresses(DestinationWatch watch) => watch.Balancer.Endpoints.Select(e => e.Address).ToHashSet();

    [Fact]
    public async Task Watch_StreamUpdates_AppliedInOrder()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1, WebId, ApiProtocol.H2, "web-1"), Endpoint(Web2, WebId, ApiProtocol.H2, "web-2")));
        var client = _fixture.DestinationClient(controller.Port);

        var watch = client.Watch(WebPath)!;
        await Eventually.TrueAsync(() => Addresses(watch).SetEquals([Web1, Web2]), "first set");

        Assert.Equal(DestinationState.Endpoints, watch.State);
        var first = watch.Balancer.Endpoints.Single(e => e.Address.Equals(Web1)).Value;
        Assert.Equal(WebId, first.Identity);
        Assert.Equal(ProtocolHint.Http2, first.ProtocolHint);
        Assert.Equal("demo", first.Labels["dst_namespace"]);
        Assert.Equal("web", first.Labels["dst_service"]);
        Assert.Equal("web-1", first.Labels["dst_pod"]);

        controller.Destinations.Send(WebPath, Remove(Web1));
        controller.Destinations.Send(WebPath, Add(null, Endpoint(Web3)));
        await Eventually.TrueAsync(() => Addresses(watch).SetEquals([Web2, Web3]), "remove then add");

        var unmeshed = watch.Balancer.Endpoints.Single(e => e.Address.Equals(Web3)).Value;
        Assert.Null(unmeshed.Identity);
        Assert.Equal("web", unmeshed.Labels["dst_service"]);
        var request = Assert.Single(controller.Destinations.Requests);
        Assert.Equal(WebPath, request.Path);
        Assert.Equal("spiffe://trellis.test/ns/demo/sa/client", request.ContextToken);
    }

    [Fact]
    public async Task Watch_SamePathTwice_SharesOneStream()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = _fixture.DestinationClient(controller.Port);

        var first = client.Watch(WebPath)!;
        await first.Ready;
        var second = client.Watch(WebPath);

        Assert.Same(first, second);
        Assert.Single(controller.Destinations.Requests);
    }

    [Fact]
    public async Task Watch_ControllerKilledThenBack_ServesLastKnownEndpointsAndResumes()
    {
        var controller = await _fixture.StartControllerAsync();
        var port = controller.Port;
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1, WebId), Endpoint(Web2, WebId)));
        var client = _fixture.DestinationClient(port);
        var watch = client.Watch(WebPath)!;
        await Eventually.TrueAsync(() => watch.Connected && watch.Balancer.Endpoints.Count == 2, "connected with two endpoints");

        await controller.KillAsync();

        // Each reconnect waits out a backoff on the fake clock and fails (nothing listens).
        await Eventually.TrueAsync(() => watch.ConsecutiveFailures >= 3, "several failed reconnects", _fixture.Time);
        Assert.False(watch.Connected);
        Assert.True(Addresses(watch).SetEquals([Web1, Web2]), "the last known endpoints are still served");
        Assert.NotNull(watch.Balancer.Pick());

        // The controller comes back on the same port with a different set: the first update replaces the old one.
        var restarted = await _fixture.StartControllerAsync(port);
        restarted.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web3, WebId)));
        await Eventually.TrueAsync(() => watch.StreamsOpened == 2 && Addresses(watch).SetEquals([Web3]), "stream resumed", _fixture.Time);
        Assert.True(watch.Connected);
        Assert.Equal(0, watch.ConsecutiveFailures);
    }

    [Fact]
    public async Task Watch_ControllerCertificateFromAnotherCa_NeverConnects()
    {
        var otherCa = TestPki.CreateCa("CN=someone else", null, _fixture.Time.GetUtcNow());
        var controller = await TestController.StartAsync(_fixture.Pki.ServerCertificate(_fixture.Time.GetUtcNow(), signer: otherCa), null);
        await using var _ = controller;
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = _fixture.DestinationClient(controller.Port);

        var watch = client.Watch(WebPath)!;
        await watch.Ready;

        Assert.Equal(DestinationState.Pending, watch.State);
        Assert.Equal(0, watch.StreamsOpened);
        Assert.True(watch.ConsecutiveFailures >= 1);
        Assert.Empty(controller.Destinations.Requests);
        Assert.Empty(watch.Balancer.Endpoints);
    }

    [Fact]
    public async Task Watch_ControllerCertificateForAnotherName_NeverConnects()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = new DestinationClient(
            new Trellis.Api.Destination.V1.Destination.DestinationClient(_fixture.Channel(controller.Port, "impostor.trellis.test")),
            new DestinationClientOptions { Backoff = ControlPlaneFixture.Backoff },
            new Trellis.Proxy.Balancing.PeakEwmaOptions(),
            _fixture.Time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var _ = client;

        var watch = client.Watch(WebPath)!;
        await watch.Ready;

        Assert.Equal(0, watch.StreamsOpened);
        Assert.Empty(controller.Destinations.Requests);
    }

    [Fact]
    public async Task Watch_ControllerNamedBySpiffeId_Connects()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = new DestinationClient(
            new Trellis.Api.Destination.V1.Destination.DestinationClient(_fixture.Channel(controller.Port, TestPki.ControllerSpiffeId)),
            new DestinationClientOptions { Backoff = ControlPlaneFixture.Backoff },
            new Trellis.Proxy.Balancing.PeakEwmaOptions(),
            _fixture.Time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var _ = client;

        var watch = client.Watch(WebPath)!;
        await Eventually.TrueAsync(() => watch.Balancer.Endpoints.Count == 1, "endpoint over a SPIFFE-named controller");
    }

    [Fact]
    public async Task Watch_EndpointWithInvalidAddress_IsSkipped()
    {
        var controller = await _fixture.StartControllerAsync();
        var bad = Endpoint(Web1);
        bad.Address.Ip = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
        var badPort = Endpoint(Web2);
        badPort.Address.Port = 70000;
        controller.Destinations.Send(WebPath, Add(WebLabels, bad, badPort, Endpoint(Web3)));
        var client = _fixture.DestinationClient(controller.Port);

        var watch = client.Watch(WebPath)!;
        await watch.Ready;

        Assert.True(Addresses(watch).SetEquals([Web3]));
    }

    [Fact]
    public async Task Watch_NoEndpoints_ClearsSetAndReportsState()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = _fixture.DestinationClient(controller.Port);
        var watch = client.Watch(WebPath)!;
        await Eventually.TrueAsync(() => watch.Balancer.Endpoints.Count == 1, "one endpoint");

        controller.Destinations.Send(WebPath, new Trellis.Api.Destination.V1.Update { NoEndpoints = new() { Exists = true } });

        await Eventually.TrueAsync(() => watch.State == DestinationState.NoEndpoints, "no endpoints");
        Assert.Empty(watch.Balancer.Endpoints);
    }

    [Fact]
    public async Task Watch_UnknownPath_StateUnknown()
    {
        var controller = await _fixture.StartControllerAsync();
        var client = _fixture.DestinationClient(controller.Port);

        var watch = client.Watch("nothing.nowhere.svc.cluster.local:80")!;
        await watch.Ready;

        Assert.Equal(DestinationState.Unknown, watch.State);
        Assert.Null(watch.Balancer.Pick());
    }

    [Fact]
    public async Task Watch_IdleLongerThanTimeout_StreamClosedAndForgotten()
    {
        var controller = await _fixture.StartControllerAsync();
        controller.Destinations.Send(WebPath, Add(WebLabels, Endpoint(Web1)));
        var client = _fixture.DestinationClient(controller.Port, new DestinationClientOptions { IdleTimeout = TimeSpan.FromMinutes(1), Backoff = ControlPlaneFixture.Backoff });
        var watch = client.Watch(WebPath)!;
        await watch.Ready;

        _fixture.Time.Advance(TimeSpan.FromMinutes(2));

        await Eventually.TrueAsync(() => client.Watches.Count == 0, "idle watch evicted");
        Assert.NotSame(watch, client.Watch(WebPath));
    }

    [Fact]
    public async Task Watch_PastMaxDestinations_ReturnsNull()
    {
        var controller = await _fixture.StartControllerAsync();
        var client = _fixture.DestinationClient(controller.Port, new DestinationClientOptions { MaxDestinations = 1, Backoff = ControlPlaneFixture.Backoff });

        Assert.NotNull(client.Watch(WebPath));
        Assert.Null(client.Watch("other.demo.svc.cluster.local:80"));
        Assert.NotNull(client.Watch(WebPath));
    }
}
