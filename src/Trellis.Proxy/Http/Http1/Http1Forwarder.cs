using Microsoft.Extensions.Logging;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// The HTTP/1.1 forwarding path: parses each request head itself on the client's pipes, writes
/// it (bytes as received, minus hop-by-hop fields) to a pooled upstream connection, and streams
/// bodies both ways. No HttpContext or HttpRequestMessage is built per request; that per-request
/// cost halves throughput (DESIGN.md, "Figures"). One instance per stack side, shared by all of
/// its connections; it owns the upstream connection pool.
/// </summary>
public sealed class Http1Forwarder : IAsyncDisposable
{
    private readonly Http1ForwarderContext _context;

    /// <param name="resolver">Picks the endpoint for each request's authority.</param>
    /// <param name="connector">Dials endpoints that have no idle pooled connection.</param>
    /// <param name="draining">When signalled, the request in flight is answered with <c>Connection: close</c> and the connection ends.</param>
    public Http1Forwarder(
        IDestinationResolver resolver,
        IUpstreamConnector connector,
        ProxyMetrics metrics,
        Http1Options options,
        TimeProvider time,
        ILogger logger,
        CancellationToken draining)
    {
        options.Validate();
        _context = new Http1ForwarderContext(
            resolver,
            connector,
            metrics,
            options,
            time,
            logger,
            new Http1UpstreamPool(options.MaxIdleConnectionsPerEndpoint, options.UpstreamIdleTimeout, time),
            draining);
    }

    internal Http1UpstreamPool Pool => _context.Pool;

    /// <summary>
    /// Serves requests on a client connection whose first bytes were only peeked, until the
    /// client closes, an error closes it, or draining is signalled. Never throws for anything a
    /// peer does.
    /// </summary>
    public Task ServeAsync(ProxyConnection connection) => new Http1Session(_context, connection).RunAsync();

    /// <summary>Closes the idle upstream connections.</summary>
    public ValueTask DisposeAsync() => _context.Pool.DisposeAsync();
}
