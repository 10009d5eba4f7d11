using Microsoft.Extensions.Logging;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Hosting;

/// <summary>What the stacks are built from: shared services of one side, made once at start.</summary>
public sealed record ProxyComponents(
    ProxyOptions Options,
    IDestinationResolver Resolver,
    IUpstreamConnector Connector,
    ProxyMetrics Metrics,
    ConnectionTracker Tracker,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    ILogger Logger);
