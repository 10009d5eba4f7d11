using System.Collections.Concurrent;
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
    CancellationToken Draining)
{
    private readonly ConcurrentDictionary<(TrafficDirection, string, bool, string?), HttpRouteMetrics> _routes = new();

    /// <summary>
    /// Bound route metrics, shared across connections so a connection-per-request client does
    /// not bind (and allocate) the same series again for every connection.
    /// </summary>
    public HttpRouteMetrics RouteMetrics(TrafficDirection direction, string authority, bool tls, string? clientId) =>
        _routes.GetOrAdd((direction, authority, tls, clientId), static (key, metrics) => metrics.ForHttp(key.Item1, key.Item2, key.Item3, key.Item4), Metrics);
}
