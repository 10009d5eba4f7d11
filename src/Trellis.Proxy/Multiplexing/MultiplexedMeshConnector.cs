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

    private readonly MeshTlsConnector _tls;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly Lock _lock = new();
    private readonly Dictionary<(IPEndPoint Endpoint, string Identity), Peer> _peers = [];

    /// <param name="idleTimeout">How long a shared connection with no tunnels stays open.</param>
    public MultiplexedMeshConnector(MeshTlsConnector tls, TimeProvider time, TimeSpan idleTimeout)
    {
        _tls = tls;
        _time = time;
        _idleTimeout = idleTimeout;
    }

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
                if (connection is null && peer.Dialing is null && !peer.Unsupported)
                {
                    // One dial at a time per peer: a burst of requests shares the connection it makes.
                    peer.Dialing = DialAsync(key, peer);
                }

                if (connection is null && peer.Unsupported)
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
            if (!_peers.TryGetValue(key, out var peer) || !peer.Unsupported)
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
                    peer.Unsupported = true;
                }

                return null;
            }

            var connection = MultiplexedConnection.StartClient(tls, _time, _idleTimeout);
            lock (_lock)
            {
                peer.Connections.Add(connection);
            }

            _ = ForgetWhenEndedAsync(peer, connection, tls);
            return connection;
        }
        finally
        {
            lock (_lock)
            {
                peer.Dialing = null;
            }
        }
    }

    private async Task ForgetWhenEndedAsync(Peer peer, MultiplexedConnection connection, TlsConnectionContext tls)
    {
        await connection.Running;
        lock (_lock)
        {
            peer.Connections.Remove(connection);
        }

        await tls.DisposeAsync();
    }

    private sealed class Peer
    {
        public List<MultiplexedConnection> Connections { get; } = [];

        public Task<MultiplexedConnection?>? Dialing { get; set; }

        /// <summary>The peer chose the plain mesh protocol: it gets a connection per call.</summary>
        public bool Unsupported { get; set; }
    }
}
