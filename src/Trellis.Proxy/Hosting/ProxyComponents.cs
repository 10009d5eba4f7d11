using Microsoft.Extensions.Logging;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Identity;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Hosting;

/// <summary>What a side's stack is built from: shared services, made once at start.</summary>
/// <param name="Connector">Dials upstreams: metered, and mesh-aware when the proxy has an identity.</param>
/// <param name="Identity">This proxy's mesh identity, or null when it has none.</param>
public sealed record ProxyComponents(
    ProxyOptions Options,
    TrafficDirection Direction,
    IDestinationResolver Resolver,
    IUpstreamConnector Connector,
    IIdentitySource? Identity,
    ProxyMetrics Metrics,
    ConnectionTracker Tracker,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    public ILogger Logger { get; } = LoggerFactory.CreateLogger("trellis.proxy." + Direction.Label());
}
