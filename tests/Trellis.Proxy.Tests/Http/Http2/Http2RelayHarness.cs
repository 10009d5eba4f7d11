using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tests.Http.Http1;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// An <see cref="Http2Forwarder"/> over in-memory pipes: raw-frame clients on one side, scripted
/// raw-frame upstreams (through an in-memory connector) on the other, and a fake clock.
/// </summary>
internal sealed class Http2RelayHarness : IAsyncDisposable
{
    public static readonly IPEndPoint Target = new(IPAddress.Loopback, 8080);

    public Http2RelayHarness(Http2Options? options = null)
    {
        Metrics = new ProxyMetrics(new MetricsRegistry());
        Forwarder = new Http2Forwarder(
            new TargetAddressResolver(), Metrics, options ?? new Http2Options(), Time, NullLoggerFactory.Instance, new GatedConnector(this));
    }

    /// <summary>Dials wait for this; replace it with an incomplete one to hold dials back.</summary>
    public TaskCompletionSource DialGate { get; set; } = CompletedGate();

    public InMemoryUpstreamConnector Connector { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    public ProxyMetrics Metrics { get; }

    public Http2Forwarder Forwarder { get; }

    public string MetricsText => Metrics.Registry.Render();

    /// <summary>Opens a client connection and starts serving it; the client has not sent its preface yet.</summary>
    public (Http2TestPeer Client, Task Served) Connect()
    {
        var (proxySide, clientSide) = InlinePipePair.Create();
        var context = new DefaultConnectionContext("client", proxySide, clientSide);
        var connection = new ProxyConnection(context, TrafficDirection.Outbound, Target) { Protocol = DetectedProtocol.Http2 };
        return (new Http2TestPeer(clientSide), Task.Run(() => Forwarder.ServeAsync(connection)));
    }

    /// <summary>A client connection that has sent its preface and SETTINGS.</summary>
    public async Task<(Http2TestPeer Client, Task Served)> ConnectStartedAsync(params (Trellis.Proxy.Http.Http2.Frames.Http2SettingId, uint)[] settings)
    {
        var (client, served) = Connect();
        await client.StartClientAsync(settings);
        return (client, served);
    }

    /// <summary>The next upstream connection the relay dialled, its HTTP/2 handshake done.</summary>
    public async Task<Http2TestPeer> AcceptUpstreamAsync(params (Trellis.Proxy.Http.Http2.Frames.Http2SettingId, uint)[] settings)
    {
        var peer = await Connector.AcceptAsync();
        var upstream = new Http2TestPeer(peer.Pipe);
        await upstream.AcceptClientAsync(settings);
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        DialGate.TrySetResult();
        await Forwarder.DisposeAsync();
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    /// <summary>The in-memory connector behind <see cref="DialGate"/>.</summary>
    private sealed class GatedConnector(Http2RelayHarness harness) : IUpstreamConnector
    {
        public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
        {
            await harness.DialGate.Task;
            return await harness.Connector.ConnectAsync(endpoint, cancellationToken);
        }
    }
}
