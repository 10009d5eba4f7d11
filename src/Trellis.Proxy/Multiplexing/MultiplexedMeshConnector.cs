using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Multiplexing;

/// <summary>
/// The HTTP/1 path's way to a meshed peer: each "connection" it hands out is a tunnel on a
/// shared mTLS connection to that peer (<see cref="MultiplexedConnection"/>), dialled once and
/// used by every HTTP/1 connection to it until it fills up, goes away or idles out. A peer that
/// does not speak the multiplexed protocol gets one mTLS connection per call, as before.
/// </summary>
public sealed class MultiplexedMeshConnector : IMeshConnector, IAsyncDisposable
{
    private const int MaxAttempts = 4;

    /// <summary>
    /// How long a peer found not to multiplex is dialled per call before it is asked again: a
    /// mesh upgraded in place keeps its addresses, and its callers should not need a restart to
    /// start sharing connections with it.
    /// </summary>
    public static readonly TimeSpan UnsupportedRecheck = TimeSpan.FromMinutes(5);

    private readonly MeshTlsConnector _tls;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly Lock _lock = new();
    private readonly Dictionary<(IPEndPoint Endpoint, string Identity), Peer> _peers = [];
    private long _connectionsOpenedOrClosed;

    /// <param name="idleTimeout">How long a shared connection with no tunnels stays open.</param>
    public MultiplexedMeshConnector(MeshTlsConnector tls, TimeProvider time, TimeSpan idleTimeout)
    {
        _tls = tls;
        _time = time;
        _idleTimeout = idleTimeout;
    }

    /// <summary>
    /// Shared connections opened plus those closed so far. The proxy's connection metrics count
    /// the tunnels the HTTP/1 path asked for, not the connections under them; this is what moves
    /// when a shared connection idles out after its last tunnel, which frees memory and runs code.
    /// </summary>
    public long ConnectionsOpenedOrClosed => Interlocked.Read(ref _connectionsOpenedOrClosed);

    /// <exception cref="UpstreamConnectException">Dialling or the handshake failed.</exception>
    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, string expectedIdentity, CancellationToken cancellationToken)
    {
        var key = (endpoint, expectedIdentity);
        // Bounded: a peer that keeps refusing tunnels on new connections is an error, not a loop.
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            Peer peer;
            MultiplexedConnection? connection;
            Task<MultiplexedConnection?> dialing;
            lock (_lock)
            {
                if (!_peers.TryGetValue(key, out peer!))
                {
                    peer = new Peer();
                    _peers.Add(key, peer);
                }

                connection = peer.Connections.Find(static candidate => candidate.Accepting);
                var unsupported = peer.UnsupportedUntil > _time.GetUtcNow();
                if (connection is null && peer.Dialing is null && !unsupported)
                {
                    // One dial at a time per peer: a burst of requests shares the connection it makes.
                    peer.Dialing = DialAsync(key, peer);
                }

                if (connection is null && unsupported)
                {
                    break;
                }

                dialing = peer.Dialing ?? Task.FromResult<MultiplexedConnection?>(null);
            }

            connection ??= await dialing.WaitAsync(cancellationToken);
            if (connection is null)
            {
                continue;
            }

            var stream = await connection.OpenStreamAsync(endpoint.ToString());
            if (stream is not null)
            {
                return stream;
            }
        }

        lock (_lock)
        {
            if (!_peers.TryGetValue(key, out var peer) || peer.UnsupportedUntil <= _time.GetUtcNow())
            {
                throw new UpstreamConnectException(ProxyError.UpstreamClosed, endpoint);
            }
        }

        // The peer answered with the one-connection-per-call protocol.
        return await _tls.ConnectAsync(endpoint, expectedIdentity, multiplexed: false, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        List<MultiplexedConnection> open;
        lock (_lock)
        {
            open = [.. _peers.Values.SelectMany(static peer => peer.Connections)];
            _peers.Clear();
        }

        foreach (var connection in open)
        {
            connection.Abort();
            await connection.Running;
        }
    }

    /// <summary>Null when the peer does not multiplex (it is then dialled per call).</summary>
    private async Task<MultiplexedConnection?> DialAsync((IPEndPoint Endpoint, string Identity) key, Peer peer)
    {
        // Off the caller's stack: the dial is shared, and one caller's cancellation must not end it.
        await Task.Yield();
        try
        {
            var tls = (TlsConnectionContext)await _tls.ConnectAsync(key.Endpoint, key.Identity, multiplexed: true, CancellationToken.None);
            if (!tls.Multiplexed)
            {
                await tls.DisposeAsync();
                lock (_lock)
                {
                    peer.UnsupportedUntil = _time.GetUtcNow() + UnsupportedRecheck;
                }

                return null;
            }

            var connection = MultiplexedConnection.StartClient(tls, _time, _idleTimeout);
            Interlocked.Increment(ref _connectionsOpenedOrClosed);
            lock (_lock)
            {
                peer.UnsupportedUntil = default;
                peer.Connections.Add(connection);
            }

            _ = ForgetWhenEndedAsync(key, peer, connection, tls);
            return connection;
        }
        finally
        {
            lock (_lock)
            {
                peer.Dialing = null;
                ForgetIfUnused(key, peer);
            }
        }
    }

    private async Task ForgetWhenEndedAsync((IPEndPoint Endpoint, string Identity) key, Peer peer, MultiplexedConnection connection, TlsConnectionContext tls)
    {
        await connection.Running;
        lock (_lock)
        {
            peer.Connections.Remove(connection);
            ForgetIfUnused(key, peer);
        }

        await tls.DisposeAsync();
        Interlocked.Increment(ref _connectionsOpenedOrClosed);
    }

    /// <summary>
    /// Drops a peer with nothing open, dialling or remembered, so the table follows the peers in
    /// use rather than every address ever dialled (endpoints come and go with the workloads).
    /// </summary>
    private void ForgetIfUnused((IPEndPoint Endpoint, string Identity) key, Peer peer)
    {
        if (peer.Connections.Count == 0 && peer.Dialing is null && peer.UnsupportedUntil <= _time.GetUtcNow()
            && _peers.TryGetValue(key, out var current) && current == peer)
        {
            _peers.Remove(key);
        }
    }

    private sealed class Peer
    {
        public List<MultiplexedConnection> Connections { get; } = [];

        public Task<MultiplexedConnection?>? Dialing { get; set; }

        /// <summary>Until then the peer, which chose the plain mesh protocol, gets a connection per call.</summary>
        public DateTimeOffset UnsupportedUntil { get; set; }
    }
}
