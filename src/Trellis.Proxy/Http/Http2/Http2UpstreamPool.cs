using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// Multiplexed upstream connections per (address, identity). A request takes a stream slot on
/// a connection with room; when all are full one more is dialled, and every request that found
/// no room meanwhile waits for that dial, so a failed dial fails only them. Connections with
/// no streams for the idle timeout are closed with a GOAWAY.
/// </summary>
internal sealed class Http2UpstreamPool : IAsyncDisposable
{
    private const int MaxDialsPerRequest = 3;

    private readonly Http2RelayContext _context;
    private readonly IUpstreamConnector _connector;
    private readonly ConcurrentDictionary<Http2PoolKey, Entry> _entries = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly ITimer? _sweeper;
    private readonly long _idleTicks;

    public Http2UpstreamPool(Http2RelayContext context, IUpstreamConnector connector)
    {
        _context = context;
        _connector = connector;
        var idle = context.Options.UpstreamIdleTimeout;
        if (idle != Timeout.InfiniteTimeSpan)
        {
            _idleTicks = (long)(idle.TotalSeconds * context.Time.TimestampFrequency);
            var period = idle > TimeSpan.FromSeconds(1) ? idle / 2 : TimeSpan.FromSeconds(1);
            _sweeper = context.Time.CreateTimer(static state => ((Http2UpstreamPool)state!).Sweep(), this, period, period);
        }
    }

    /// <summary>Takes a stream slot on a pooled connection with room, without waiting.</summary>
    public bool TryAcquire(in UpstreamEndpoint endpoint, [NotNullWhen(true)] out Http2UpstreamConnection? connection)
    {
        var entry = EntryFor(endpoint);
        lock (entry.Lock)
        {
            connection = entry.Reserve();
            return connection is not null;
        }
    }

    /// <summary>Takes a stream slot, dialling a connection when none has room.</summary>
    /// <exception cref="UpstreamConnectException">The dial this request waited for failed.</exception>
    public async ValueTask<Http2UpstreamConnection> AcquireAsync(UpstreamEndpoint endpoint)
    {
        var entry = EntryFor(endpoint);
        for (var attempt = 0; ; attempt++)
        {
            if (attempt == MaxDialsPerRequest)
            {
                // Every connection dialled for it closed or filled at once: the endpoint is not serving.
                throw new UpstreamConnectException(ProxyError.UpstreamClosed, endpoint.Address);
            }

            TaskCompletionSource<Http2UpstreamConnection>? mine = null;
            Task<Http2UpstreamConnection> dial;
            lock (entry.Lock)
            {
                if (entry.Reserve() is { } pooled)
                {
                    return pooled;
                }

                if (entry.Dialing is null)
                {
                    mine = new TaskCompletionSource<Http2UpstreamConnection>();
                    entry.Dialing = mine.Task;
                }

                dial = entry.Dialing;
            }

            if (mine is not null)
            {
                await DialAsync(entry, mine);
            }

            var connection = await dial;
            lock (entry.Lock)
            {
                if (connection.TryReserve())
                {
                    return connection;
                }
            }

            // Others filled the new connection first: dial again.
        }
    }

    /// <summary>Forgets a connection that closed or was told to go away.</summary>
    public void Remove(Http2UpstreamConnection connection)
    {
        if (_entries.TryGetValue(connection.Key, out var entry))
        {
            lock (entry.Lock)
            {
                entry.Connections.Remove(connection);
            }
        }
    }

    /// <summary>Drops every connection at once (a drain deadline): their streams fail, their loops end.</summary>
    public void AbortAll()
    {
        foreach (var connection in Snapshot())
        {
            connection.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        if (_sweeper is not null)
        {
            await _sweeper.DisposeAsync();
        }

        var open = Snapshot();
        foreach (var connection in open)
        {
            connection.Abort();
        }

        foreach (var connection in open)
        {
            await connection.Completion;
        }
    }

    private List<Http2UpstreamConnection> Snapshot()
    {
        var open = new List<Http2UpstreamConnection>();
        foreach (var entry in _entries.Values)
        {
            lock (entry.Lock)
            {
                open.AddRange(entry.Connections);
            }
        }

        return open;
    }

    private Entry EntryFor(in UpstreamEndpoint endpoint) =>
        _entries.GetOrAdd(new Http2PoolKey(endpoint.Address, endpoint.Identity), static key => new Entry(key));

    private async Task DialAsync(Entry entry, TaskCompletionSource<Http2UpstreamConnection> dial)
    {
        Http2UpstreamConnection? connection = null;
        try
        {
            var endpoint = new UpstreamEndpoint(entry.Key.Address) { Identity = entry.Key.Identity };
            var transport = await _connector.ConnectAsync(endpoint, _disposed.Token);
            connection = new Http2UpstreamConnection(_context, transport, this, entry.Key);
            await connection.StartAsync();
        }
        catch (Exception e)
        {
            lock (entry.Lock)
            {
                entry.Dialing = null;
            }

            dial.SetException(e as UpstreamConnectException ?? new UpstreamConnectException(ProxyError.HostUnreachable, entry.Key.Address, e));
            return;
        }

        lock (entry.Lock)
        {
            entry.Connections.Add(connection);
            entry.Dialing = null;
        }

        // Completed outside the lock: waiters continue inline and take the lock themselves.
        dial.SetResult(connection);
    }

    private void Sweep()
    {
        var idleBefore = _context.Time.GetTimestamp() - _idleTicks;
        List<Http2UpstreamConnection>? idle = null;
        foreach (var entry in _entries.Values)
        {
            lock (entry.Lock)
            {
                for (var i = entry.Connections.Count - 1; i >= 0; i--)
                {
                    var connection = entry.Connections[i];
                    if (connection.IsClosing || connection.IdleSince(idleBefore))
                    {
                        entry.Connections.RemoveAt(i);
                        (idle ??= []).Add(connection);
                    }
                }
            }
        }

        if (idle is not null)
        {
            foreach (var connection in idle)
            {
                connection.Close(Http2ErrorCode.NoError);
            }
        }
    }

    /// <summary>The connections to one (address, identity), and the dial in progress. Guarded by <see cref="Lock"/>.</summary>
    private sealed class Entry(Http2PoolKey key)
    {
        public Http2PoolKey Key { get; } = key;

        public Lock Lock { get; } = new();

        public List<Http2UpstreamConnection> Connections { get; } = [];

        public Task<Http2UpstreamConnection>? Dialing { get; set; }

        /// <summary>The first connection with room, its slot taken; most streams go to the oldest connection.</summary>
        public Http2UpstreamConnection? Reserve()
        {
            foreach (var connection in Connections)
            {
                if (connection.TryReserve())
                {
                    return connection;
                }
            }

            return null;
        }
    }
}
