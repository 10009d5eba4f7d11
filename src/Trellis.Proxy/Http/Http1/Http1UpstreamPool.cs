using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Idle upstream HTTP/1 connections, per endpoint, for reuse by later requests. Each endpoint
/// keeps at most a bounded number, most recently used first (the warmest socket, and the
/// least likely to have been closed by the server's own idle timer); a timer on the
/// TimeProvider closes those idle past the timeout.
/// </summary>
internal sealed class Http1UpstreamPool : IAsyncDisposable
{
    private readonly ConcurrentDictionary<IPEndPoint, Http1EndpointPool> _endpoints = new();
    private readonly int _maxIdle;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;

    public Http1UpstreamPool(int maxIdle, TimeSpan idleTimeout, TimeProvider time)
    {
        _maxIdle = maxIdle;
        _idleTimeout = idleTimeout;
        _time = time;
        var period = idleTimeout > TimeSpan.FromSeconds(1) ? idleTimeout / 2 : TimeSpan.FromSeconds(1);
        _sweeper = time.CreateTimer(static state => ((Http1UpstreamPool)state!).Sweep(), this, period, period);
    }

    /// <summary>The idle-connection list of one endpoint, to be cached by the caller.</summary>
    public Http1EndpointPool For(IPEndPoint endpoint) =>
        _endpoints.GetOrAdd(endpoint, static (key, self) => new Http1EndpointPool(self._maxIdle, self._idleTimeout, self._time), this);

    public int IdleCount(IPEndPoint endpoint) => _endpoints.TryGetValue(endpoint, out var pool) ? pool.Count : 0;

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync();
        foreach (var pool in _endpoints.Values)
        {
            pool.CloseAll();
        }
    }

    private void Sweep()
    {
        foreach (var pool in _endpoints.Values)
        {
            pool.CloseExpired();
        }
    }
}
