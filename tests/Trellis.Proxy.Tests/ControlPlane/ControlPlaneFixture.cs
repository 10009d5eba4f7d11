using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Trellis.Api.Destination.V1;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.ControlPlane;

namespace Trellis.Proxy.Tests.ControlPlane;

/// <summary>A test PKI, a fake clock starting now, and clients for a controller on a given port.</summary>
public sealed class ControlPlaneFixture : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public ControlPlaneFixture()
    {
        Time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        Pki = new TestPki(Time.GetUtcNow());
    }

    public FakeTimeProvider Time { get; }

    public TestPki Pki { get; }

    public static ExponentialBackoff Backoff { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));

    public async Task<TestController> StartControllerAsync(int port = 0, IdentityScript? identity = null)
    {
        var controller = await TestController.StartAsync(Pki.ServerCertificate(Time.GetUtcNow()), Pki.Issuer, identity, port);
        _owned.Add(controller);
        return controller;
    }

    public GrpcChannel Channel(int port, string? controllerName = TestPki.ControllerName)
    {
        var options = new ControlPlaneOptions
        {
            Controller = $"127.0.0.1:{port}",
            ControllerName = controllerName,
            TrustAnchorPath = "unused: anchors passed directly",
        };
        return ControllerChannel.Create(options, Pki.Anchors, Time);
    }

    public DestinationClient DestinationClient(int port, DestinationClientOptions? options = null)
    {
        var client = new DestinationClient(
            new Destination.DestinationClient(Channel(port)),
            options ?? new DestinationClientOptions { ContextToken = "spiffe://trellis.test/ns/demo/sa/client", Backoff = Backoff },
            new PeakEwmaOptions(),
            Time,
            NullLogger.Instance);
        _owned.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
            await _owned[i].DisposeAsync();
    }
}
