using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>A forwarder over in-memory pipes: a client end, a scripted-upstream connector, a fake clock.</summary>
internal sealed class Http1Harness : IAsyncDisposable
{
    public static readonly IPEndPoint Target = new(IPAddress.Loopback, 8080);

    private readonly CancellationTokenSource _draining = new();

    public Http1Harness(Http1Options? options = null)
    {
        Metrics = new ProxyMetrics(new MetricsRegistry());
        Forwarder = new Http1Forwarder(
            new TargetAddressResolver(), Connector, Metrics, options ?? new Http1Options(), Time, Logger, _draining.Token);
    }

    public InMemoryUpstreamConnector Connector { get; } = new();

    public RecordingLogger Logger { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    public ProxyMetrics Metrics { get; }

    public Http1Forwarder Forwarder { get; }

    public void Drain() => _draining.Cancel();

    /// <summary>Opens a client connection and starts serving it; returns the client's end and the serve task.</summary>
    public (TestPeer Client, Task Served) Connect()
    {
        var (client, served, _) = ConnectWithContext();
        return (client, served);
    }

    public (TestPeer Client, Task Served, ConnectionContext Context) ConnectWithContext()
    {
        var (proxySide, clientSide) = InlinePipePair.Create();
        var context = new DefaultConnectionContext("client", proxySide, clientSide);
        var connection = new ProxyConnection(context, TrafficDirection.Outbound, Target) { Protocol = DetectedProtocol.Http1 };
        return (new TestPeer(clientSide), Task.Run(() => Forwarder.ServeAsync(connection)), context);
    }

    public async ValueTask DisposeAsync()
    {
        await Forwarder.DisposeAsync();
        _draining.Dispose();
    }
}
