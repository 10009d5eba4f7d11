using Microsoft.Extensions.Logging;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Identity;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Multiplexing;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Hosting;

/// <summary>What a side's stack is built from: shared services, made once at start.</summary>
/// <param name="Connector">Dials upstreams: metered, and mesh-aware when the proxy has an identity.</param>
/// <param name="Http1Connector">The same for the HTTP/1 path, whose hops to meshed peers are tunnels on shared connections.</param>
/// <param name="Identity">This proxy's mesh identity, or null when it has none.</param>
public sealed record ProxyComponents(
    ProxyOptions Options,
    TrafficDirection Direction,
    IDestinationResolver Resolver,
    IUpstreamConnector Connector,
    IUpstreamConnector Http1Connector,
    IIdentitySource? Identity,
    ProxyMetrics Metrics,
    ConnectionTracker Tracker,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    public ILogger Logger { get; } = LoggerFactory.CreateLogger("trellis.proxy." + Direction.Label());

    /// <summary>The server side of tunnels on a multiplexed mesh connection: each one is an HTTP/1 connection.</summary>
    public ProxyConnectionHandler NewTunnelsLayer(Http1Forwarder http1) => new MultiplexedTunnelsLayer(http1.ServeAsync, Tracker.Draining).InvokeAsync;

    /// <summary>Opaque TCP: bytes both ways, balanced per connection.</summary>
    public ProxyConnectionHandler NewTcpForwarder() => new TcpForwardLayer(Resolver, Connector, Logger).InvokeAsync;

    /// <summary>HTTP/1, balanced per request over pooled upstream connections.</summary>
    public Http1Forwarder NewHttp1Forwarder() => new(
        Resolver, Http1Connector, Metrics, new Http1Options { ResponseHeadersTimeout = Options.ResponseTimeout }, Time, Logger, Tracker.Draining);

    /// <summary>HTTP/2 and gRPC, balanced per request over multiplexed upstream connections.</summary>
    public Http2Forwarder NewHttp2Forwarder() => new(
        Resolver, Metrics, new Http2Options { ConnectTimeout = Options.ConnectTimeout }, Time, LoggerFactory, Connector);
}
