using Microsoft.Extensions.Logging;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

/// <summary>What every HTTP/1 session of one forwarder shares.</summary>
internal sealed record Http1ForwarderContext(
    IDestinationResolver Resolver,
    IUpstreamConnector Connector,
    ProxyMetrics Metrics,
    Http1Options Options,
    TimeProvider Time,
    ILogger Logger,
    Http1UpstreamPool Pool,
    CancellationToken Draining);
