using Microsoft.Extensions.Logging;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// Serves h2c (prior knowledge) client connections that the detection layer hands over, and
/// relays every stream to its upstream endpoint over multiplexed, pooled HTTP/2 connections.
/// </summary>
/// <remarks>
/// A frame relay, not a server plus a client: only header blocks are decoded and re-encoded
/// (HPACK state is per connection); DATA frames pass through within the flow-control windows
/// of both sides. Everything runs inline on the two connections' read loops, so a request
/// moves from one socket to the other without a thread-pool hop, a per-stream pipe or a body
/// buffer; data waits in memory only while a window is closed, bounded by the window the relay
/// advertised. See <see cref="Http2Connection"/> and <see cref="Http2Exchange"/>.
/// </remarks>
public sealed class Http2Forwarder : IAsyncDisposable
{
    private readonly Http2RelayContext _context;
    private readonly Lock _lock = new();
    private readonly HashSet<Http2ServerConnection> _connections = [];
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    /// <param name="connector">Dials upstream endpoints; null dials plain TCP with <see cref="Http2Options.ConnectTimeout"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Http2Forwarder(
        IDestinationResolver resolver,
        ProxyMetrics metrics,
        Http2Options options,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IUpstreamConnector? connector = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();
        _context = new Http2RelayContext(
            resolver,
            connector ?? new SocketUpstreamConnector(options.ConnectTimeout),
            metrics,
            options,
            time,
            loggerFactory.CreateLogger("Trellis.Proxy.Http.Http2"));
    }

    /// <summary>
    /// Serves one client connection whose first bytes are the HTTP/2 preface (peeked, not
    /// consumed). Completes when the connection is done: the client closed it, it idled out,
    /// a protocol error closed it, or a drain finished it. The caller keeps owning (and
    /// disposes) the socket. After <see cref="DrainAsync"/> a connection is aborted at once.
    /// </summary>
    public async Task ServeAsync(ProxyConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Http2ServerConnection server;
        lock (_lock)
        {
            if (_closed)
            {
                connection.Context.Abort();
                return;
            }

            server = new Http2ServerConnection(_context, connection);
            _connections.Add(server);
        }

        try
        {
            await server.RunAsync();
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(server);
                if (_closed && _connections.Count == 0)
                {
                    _allClosed.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// Graceful shutdown: refuse new connections, send GOAWAY NO_ERROR on every client
    /// connection and let in-flight streams finish; when <paramref name="cancellationToken"/>
    /// fires, abort what is left.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Http2ServerConnection[] open;
        lock (_lock)
        {
            _closed = true;
            open = [.. _connections];
            if (open.Length == 0)
            {
                _allClosed.TrySetResult();
            }
        }

        // Registered first: a GOAWAY can wait behind a flush to a client that stopped reading.
        await using (cancellationToken.UnsafeRegister(static state => ((Http2Forwarder)state!).AbortAll(), this))
        {
            foreach (var connection in open)
            {
                await connection.DrainAsync();
            }

            await _allClosed.Task;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(new CancellationToken(canceled: true));
        await _context.Pool.DisposeAsync();
    }

    private void AbortAll()
    {
        Http2ServerConnection[] open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        // Outside the lock: an abort can end ServeAsync inline, which takes the lock.
        foreach (var connection in open)
        {
            connection.Abort();
        }

        // An exchange can be stuck writing to an upstream that stopped reading.
        _context.Pool.AbortAll();
    }
}
