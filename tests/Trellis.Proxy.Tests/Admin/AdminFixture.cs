using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Admin;
using Trellis.Proxy.Metrics;

namespace Trellis.Proxy.Tests.Admin;

/// <summary>An admin server on a loopback port, with a counter to render and a shutdown action that counts its calls.</summary>
internal sealed class AdminFixture : IAsyncDisposable
{
    private int _shutdowns;

    private AdminFixture()
    {
        var registry = new MetricsRegistry();
        registry.Counter("request_total", "Requests.", "direction").WithLabels("outbound").Add(3);
        var state = new ProxyState();
        state.MarkListening();
        var application = new AdminApplication(registry, state, () => Interlocked.Increment(ref _shutdowns));
        Server = new AdminServer(new IPEndPoint(IPAddress.Loopback, 0), application, NullLoggerFactory.Instance, Time, IdleTimeout);
    }

    public static TimeSpan IdleTimeout { get; } = TimeSpan.FromSeconds(60);

    public AdminServer Server { get; }

    public FakeTimeProvider Time { get; } = new();

    public IPEndPoint EndPoint => Server.LocalEndPoint!;

    public Uri Uri => new($"http://{EndPoint}/");

    public int Shutdowns => Volatile.Read(ref _shutdowns);

    public static async Task<AdminFixture> StartAsync()
    {
        var fixture = new AdminFixture();
        await fixture.Server.StartAsync(CancellationToken.None);
        return fixture;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
