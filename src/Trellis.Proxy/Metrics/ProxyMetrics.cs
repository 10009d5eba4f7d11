using System.Collections.Concurrent;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// The proxy's metric families, named and labelled as the Linkerd proxy's so dashboards and
/// PromQL habits carry over (DESIGN.md, "Contracts worth keeping stable").
/// </summary>
public sealed class ProxyMetrics
{
    /// <summary>
    /// How many distinct <c>authority</c> values get series of their own. The value comes from
    /// the request (Host, :authority), so without a bound a client sending a new one per request
    /// would grow the proxy's memory and the scrape without end; a workload calls far fewer
    /// services than this.
    /// </summary>
    public const int AuthorityLimit = 1000;

    /// <summary>The <c>authority</c> label of requests past <see cref="AuthorityLimit"/>; no real authority contains parentheses.</summary>
    public const string OverflowAuthority = "(overflow)";

    private readonly ConcurrentDictionary<(TrafficDirection, string, bool, string?), HttpRouteMetrics> _routes = new();
    private readonly ConcurrentDictionary<string, bool> _authorities = new(StringComparer.Ordinal);

    /// <summary>Linkerd's latency buckets, in milliseconds.</summary>
    internal static readonly double[] LatencyBucketsMs =
        [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

    /// <summary>
    /// Who called (client_id: the caller's mesh identity, inbound), who answered (server_id: the
    /// peer's mesh identity, and the destination service, outbound), and how.
    /// </summary>
    private static readonly string[] ResponseLabels =
        ["direction", "authority", "tls", "client_id", "server_id", "dst_namespace", "dst_service", "status_code", "classification", "grpc_status"];

    public ProxyMetrics(MetricsRegistry registry)
    {
        Registry = registry;
        RequestTotal = registry.Counter("request_total", "Total count of HTTP requests.", "direction", "authority", "tls", "client_id");
        ResponseTotal = registry.Counter(
            "response_total", "Total count of HTTP responses.", ResponseLabels);
        ResponseLatencyMs = registry.Histogram(
            "response_latency_ms", "Elapsed times between a request's headers being received and its response stream completing.",
            LatencyBucketsMs, ResponseLabels);
        TcpOpenTotal = registry.Counter("tcp_open_total", "Total count of opened connections.", "direction", "peer", "tls");
        TcpCloseTotal = registry.Counter("tcp_close_total", "Total count of closed connections.", "direction", "peer", "tls", "errno");
        TcpOpenConnections = registry.Gauge("tcp_open_connections", "Number of currently-open connections.", "direction", "peer", "tls");
        TcpReadBytesTotal = registry.Counter("tcp_read_bytes_total", "Total count of bytes read from peers.", "direction", "peer", "tls");
        TcpWriteBytesTotal = registry.Counter("tcp_write_bytes_total", "Total count of bytes written to peers.", "direction", "peer", "tls");
    }

    public MetricsRegistry Registry { get; }

    public CounterFamily RequestTotal { get; }

    public CounterFamily ResponseTotal { get; }

    public HistogramFamily ResponseLatencyMs { get; }

    public CounterFamily TcpOpenTotal { get; }

    public CounterFamily TcpCloseTotal { get; }

    public GaugeFamily TcpOpenConnections { get; }

    public CounterFamily TcpReadBytesTotal { get; }

    public CounterFamily TcpWriteBytesTotal { get; }

    /// <summary>
    /// The series of one HTTP authority (and caller), bound once and shared by every connection
    /// (a connection-per-request client does not bind them again); the caller keeps the handle.
    /// Authorities past <see cref="AuthorityLimit"/> share the <see cref="OverflowAuthority"/> series.
    /// </summary>
    /// <param name="clientId">The caller's verified mesh identity, or null when it has none.</param>
    public HttpRouteMetrics ForHttp(TrafficDirection direction, string authority, bool tls, string? clientId = null) =>
        _routes.GetOrAdd(
            (direction, AuthorityLabel(authority), tls, clientId),
            static (key, self) => new HttpRouteMetrics(self, key.Item1.Label(), key.Item2, key.Item3 ? "true" : "false", key.Item4 ?? string.Empty),
            this);

    private string AuthorityLabel(string authority)
    {
        if (_authorities.ContainsKey(authority))
        {
            return authority;
        }

        // Racing callers may overshoot the limit by a few; the bound only has to be finite.
        if (_authorities.Count >= AuthorityLimit)
        {
            return OverflowAuthority;
        }

        _authorities.TryAdd(authority, true);
        return authority;
    }

    /// <summary>Binds the connection-level series of one side and peer.</summary>
    public TcpMetrics ForTcp(TrafficDirection direction, TcpPeer peer, bool tls) =>
        new(this, direction.Label(), peer == TcpPeer.Source ? "src" : "dst", tls ? "true" : "false");
}

/// <summary>Which end of a proxied connection: the client (src) or the upstream (dst).</summary>
public enum TcpPeer
{
    Source,
    Destination,
}
