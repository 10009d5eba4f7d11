using System.Net;
using Microsoft.Extensions.Time.Testing;
using Trellis.Api.Destination.V1;
using Trellis.Controller.Destination;
using Trellis.Controller.Registry;
using Trellis.Controller.Tests.Registry;

namespace Trellis.Controller.Tests.Destination;

public sealed class EndpointTranslatorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly HostsRegistry _registry;

    public EndpointTranslatorTests()
    {
        _registry = new HostsRegistry(AddressRange.Parse("10.42.0.0/16", "pods"),
            new ServiceAddressAllocator(AddressRange.Parse("10.43.0.0/16", "services"), null),
            TimeSpan.FromSeconds(15), "cluster.local", _time);
    }

    public void Dispose() => _registry.Dispose();

    [Fact]
    public void Resolve_ByNameAndByVip_GiveSameReadyEndpointsWithIdentity()
    {
        _registry.Register(HostsRegistryTests.Pod("web-1") with { Ready = true });
        _registry.Register(HostsRegistryTests.Pod("web-2") with { Ready = true });
        _registry.Register(HostsRegistryTests.Pod("web-3"));
        var vip = _registry.Snapshot.Services[0].VirtualIp;

        var byName = EndpointTranslator.Resolve(_registry.Snapshot, Parse("web.demo.svc.cluster.local:8080"));
        var byVip = EndpointTranslator.Resolve(_registry.Snapshot, Parse($"{vip}:8080"));

        Assert.Equal(2, byName.Endpoints.Count);
        Assert.Equal(byName.Endpoints.Keys.Select(k => k.ToString()).Order(), byVip.Endpoints.Keys.Select(k => k.ToString()).Order());
        var endpoint = byName.Endpoints.Values.First();
        Assert.Equal("spiffe://cluster.local/ns/demo/sa/web", endpoint.TlsIdentity.SpiffeId);
        Assert.Equal(4143u, endpoint.ProtocolHint.InboundPort);
        Assert.Equal("web", byName.Labels["dst_service"]);
        Assert.Equal("web", endpoint.MetricLabels["app"]);
    }

    [Fact]
    public void Resolve_OpaquePort_HintsOpaque()
    {
        _registry.Register(HostsRegistryTests.Pod("web-1") with { Ready = true, OpaquePorts = [8080] });

        var view = EndpointTranslator.Resolve(_registry.Snapshot, Parse("web.demo:8080"));

        Assert.Equal(ProtocolHint.Types.Protocol.Opaque, view.Endpoints.Values.Single().ProtocolHint.Protocol);
    }

    [Fact]
    public void Resolve_UnknownService_DoesNotExist()
    {
        var view = EndpointTranslator.Resolve(_registry.Snapshot, Parse("nope.demo:80"));

        Assert.False(view.Exists);
        Assert.Equal(Update.UpdateOneofCase.NoEndpoints, EndpointTranslator.Diff(null, view).Single().UpdateCase);
    }

    [Fact]
    public void Resolve_PodAddress_YieldsThatPod()
    {
        var pod = _registry.Register(HostsRegistryTests.Pod("web-1") with { Ready = true });

        var view = EndpointTranslator.Resolve(_registry.Snapshot, Parse($"{pod.Address}:8080"));

        Assert.Equal(new IPEndPoint(pod.Address, 8080), view.Endpoints.Keys.Single());
    }

    [Fact]
    public void Diff_PodAddedThenRemoved_AddsThenRemovesThenNoEndpoints()
    {
        var path = Parse("web.demo:8080");
        _registry.Register(HostsRegistryTests.Pod("web-1") with { Ready = true });
        var first = EndpointTranslator.Resolve(_registry.Snapshot, path);
        var initial = EndpointTranslator.Diff(null, first);
        Assert.Single(Assert.Single(initial).Add.Endpoints);

        _registry.Register(HostsRegistryTests.Pod("web-2") with { Ready = true });
        var second = EndpointTranslator.Resolve(_registry.Snapshot, path);
        var added = Assert.Single(EndpointTranslator.Diff(first, second));
        Assert.Single(added.Add.Endpoints);

        _registry.Deregister("demo", "web-1");
        var third = EndpointTranslator.Resolve(_registry.Snapshot, path);
        var removed = Assert.Single(EndpointTranslator.Diff(second, third));
        Assert.Single(removed.Remove.Addresses);

        _time.Advance(TimeSpan.FromSeconds(16));
        var last = EndpointTranslator.Resolve(_registry.Snapshot, path);
        var none = Assert.Single(EndpointTranslator.Diff(third, last));
        Assert.True(none.NoEndpoints.Exists);
    }

    [Fact]
    public void Diff_NothingChanged_NoUpdates()
    {
        _registry.Register(HostsRegistryTests.Pod("web-1") with { Ready = true });
        var view = EndpointTranslator.Resolve(_registry.Snapshot, Parse("web.demo:8080"));

        Assert.Empty(EndpointTranslator.Diff(view, EndpointTranslator.Resolve(_registry.Snapshot, Parse("web.demo:8080"))));
    }

    private static DestinationPath Parse(string path)
    {
        Assert.True(DestinationPath.TryParse(path, "cluster.local", out var parsed, out var error), error);
        return parsed!;
    }
}
