using System.Net;
using Microsoft.Extensions.Time.Testing;
using Trellis.Controller.Registry;

namespace Trellis.Controller.Tests.Registry;

public sealed class HostsRegistryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private readonly HostsRegistry _registry;

    public HostsRegistryTests()
    {
        _dir.State.EnsureExists();
        _registry = NewRegistry();
    }

    public void Dispose()
    {
        _registry.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Register_NewPod_AllocatesAddressAndServiceVip()
    {
        var pod = _registry.Register(Pod("web-1"));

        Assert.Equal(IPAddress.Parse("10.42.0.2"), pod.Address);
        Assert.Equal("spiffe://cluster.local/ns/demo/sa/web", pod.Identity);
        var service = Assert.Single(_registry.Snapshot.Services);
        Assert.Equal(IPAddress.Parse("10.43.0.2"), service.VirtualIp);
        Assert.Equal([8080], service.Ports.ToArray());
    }

    [Fact]
    public void RemoveExpired_LeaseNotRenewed_RemovesPod()
    {
        _registry.Register(Pod("web-1"));

        _time.Advance(TimeSpan.FromSeconds(16));

        Assert.Empty(_registry.Snapshot.Pods);
        Assert.Single(_registry.Snapshot.Services);
    }

    [Fact]
    public void Renew_BeforeExpiry_KeepsPod()
    {
        _registry.Register(Pod("web-1"));

        _time.Advance(TimeSpan.FromSeconds(10));
        _registry.Renew("demo", "web-1", ready: true);
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(Assert.Single(_registry.Snapshot.Pods).Ready);
    }

    [Fact]
    public void Renew_AfterExpiry_ThrowsNotFound()
    {
        _registry.Register(Pod("web-1"));
        _time.Advance(TimeSpan.FromSeconds(16));

        var e = Assert.Throws<RegistryException>(() => _registry.Renew("demo", "web-1", ready: true));

        Assert.Equal(RegistryError.NotFound, e.Error);
    }

    [Fact]
    public void Register_AfterRestartWithKnownAddress_KeepsAddressAndVip()
    {
        var before = _registry.Register(Pod("web-1"));
        var vip = _registry.Snapshot.Services[0].VirtualIp;

        using var restarted = NewRegistry();
        var after = restarted.Register(Pod("web-1") with { Address = before.Address });

        Assert.Equal(before.Address, after.Address);
        Assert.Equal(vip, restarted.Snapshot.Services[0].VirtualIp);
    }

    [Fact]
    public void Register_NewPodAfterRestartBeforeOthersReturn_GetsAnUnusedAddress()
    {
        // The restarted registry does not know web-1 yet (it renews later): its address must not be handed out.
        var running = _registry.Register(Pod("web-1"));

        using var restarted = NewRegistry();
        var added = restarted.Register(Pod("web-2"));
        var back = restarted.Register(Pod("web-1") with { Address = running.Address });

        Assert.NotEqual(running.Address, added.Address);
        Assert.Equal(running.Address, back.Address);
    }

    [Fact]
    public void Register_AddressOfAnotherPod_ThrowsAlreadyExists()
    {
        var first = _registry.Register(Pod("web-1"));

        var e = Assert.Throws<RegistryException>(() => _registry.Register(Pod("web-2") with { Address = first.Address }));

        Assert.Equal(RegistryError.AlreadyExists, e.Error);
    }

    [Theory]
    [InlineData("10.42.0.1")]
    [InlineData("10.44.0.5")]
    public void Register_AddressOutsidePodRange_ThrowsInvalidArgument(string address)
    {
        var e = Assert.Throws<RegistryException>(() => _registry.Register(Pod("web-1") with { Address = IPAddress.Parse(address) }));

        Assert.Equal(RegistryError.InvalidArgument, e.Error);
    }

    [Theory]
    [InlineData("Web")]
    [InlineData("web_1")]
    [InlineData("")]
    public void Register_InvalidPodName_ThrowsInvalidArgument(string name)
    {
        var e = Assert.Throws<RegistryException>(() => _registry.Register(Pod(name)));

        Assert.Equal(RegistryError.InvalidArgument, e.Error);
    }

    [Fact]
    public void Register_InvalidPort_ThrowsInvalidArgument()
    {
        var e = Assert.Throws<RegistryException>(() => _registry.Register(Pod("web-1") with { Services = [new ServicePortRef("web", 70000)] }));

        Assert.Equal(RegistryError.InvalidArgument, e.Error);
    }

    [Fact]
    public async Task WaitForChangeAsync_Deregister_Completes()
    {
        _registry.Register(Pod("web-1"));
        var version = _registry.Snapshot.Version;
        var wait = _registry.WaitForChangeAsync(version, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        Assert.True(_registry.Deregister("demo", "web-1"));

        await wait;
        Assert.Empty(_registry.Snapshot.Pods);
    }

    [Fact]
    public void Register_TwoPods_GetDistinctAddresses()
    {
        var a = _registry.Register(Pod("web-1"));
        var b = _registry.Register(Pod("web-2"));

        Assert.NotEqual(a.Address, b.Address);
    }

    private HostsRegistry NewRegistry() => new(
        AddressRange.Parse("10.42.0.0/16", "pods"),
        new ServiceAddressAllocator(AddressRange.Parse("10.43.0.0/16", "services"), _dir.State.ServiceAddresses),
        TimeSpan.FromSeconds(15),
        "cluster.local",
        _time,
        _dir.State.PodAddressCursor);

    internal static PodRegistration Pod(string name) => new(
        "demo", name, "web", "web", [new ServicePortRef("web", 8080)], new Dictionary<string, string> { ["app"] = "web" }, [], null, false);
}
