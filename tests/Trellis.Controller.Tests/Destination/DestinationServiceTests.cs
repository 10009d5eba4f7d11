using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Trellis.Api.Destination.V1;
using Trellis.Controller.Destination;
using Trellis.Controller.Registry;
using Trellis.Controller.State;
using Trellis.Controller.Tests.Registry;

namespace Trellis.Controller.Tests.Destination;

public sealed class DestinationServiceTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly HostsRegistry _registry;

    public DestinationServiceTests()
    {
        _registry = new HostsRegistry(AddressRange.Parse("10.42.0.0/16", "pods"),
            new ServiceAddressAllocator(AddressRange.Parse("10.43.0.0/16", "services"), null),
            TimeSpan.FromSeconds(15), "cluster.local", _time);
    }

    public void Dispose() => _registry.Dispose();

    [Fact]
    public async Task Get_HostStopping_EndsTheWatchSoShutdownNeedNotWaitForProxies()
    {
        using var lifetime = new ManualLifetime();
        var service = new DestinationService(_registry, Options(), lifetime, _time);
        var writer = new RecordingStreamWriter<Update>();
        var watch = service.Get(new GetDestination { Path = "web.demo.svc.cluster.local:8000" }, writer, new FakeServerCallContext(CancellationToken.None));
        Assert.False(watch.IsCompleted, watch.Exception?.ToString());

        await lifetime.Stopping.CancelAsync();

        await watch.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotEmpty(writer.Updates);
    }

    [Fact]
    public async Task Get_RightAfterStart_HoldsBackNoEndpointsUntilPodsRegisterAgain()
    {
        using var lifetime = new ManualLifetime();
        using var call = new CancellationTokenSource();
        _registry.Register(HostsRegistryTests.Pod("web-1"));
        var writer = new RecordingStreamWriter<Update>();
        var watch = new DestinationService(_registry, Options(), lifetime, _time)
            .Get(new GetDestination { Path = "web.demo.svc.cluster.local:8080" }, writer, new FakeServerCallContext(call.Token));
        Assert.Empty(writer.Updates);

        _registry.Register(HostsRegistryTests.Pod("web-2") with { Ready = true });
        await WaitForAsync(() => writer.Updates.Count > 0);

        Assert.Equal(Update.UpdateOneofCase.Add, Assert.Single(writer.Updates).UpdateCase);
        await call.CancelAsync();
        await watch.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Get_WarmUpOverWithoutPods_SaysNoEndpoints()
    {
        using var lifetime = new ManualLifetime();
        using var call = new CancellationTokenSource();
        _registry.Register(HostsRegistryTests.Pod("web-1"));
        var writer = new RecordingStreamWriter<Update>();
        var watch = new DestinationService(_registry, Options(), lifetime, _time)
            .Get(new GetDestination { Path = "web.demo.svc.cluster.local:8080" }, writer, new FakeServerCallContext(call.Token));
        Assert.Empty(writer.Updates);

        _time.Advance(_registry.LeaseDuration);
        await WaitForAsync(() => writer.Updates.Count > 0);

        Assert.Equal(Update.UpdateOneofCase.NoEndpoints, Assert.Single(writer.Updates).UpdateCase);
        await call.CancelAsync();
        await watch.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Bounded poll (the watch runs on other threads once it awaits).</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private static ControllerOptions Options() => new()
    {
        State = new StateDirectory("/nonexistent"),
        Listen = [],
        PodRange = AddressRange.Parse("10.42.0.0/16", "pods"),
        ServiceRange = AddressRange.Parse("10.43.0.0/16", "services"),
    };
}
