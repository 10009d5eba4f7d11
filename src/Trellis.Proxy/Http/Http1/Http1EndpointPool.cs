using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Idle connections to one upstream endpoint: a bounded stack, newest on top. The stack grows with
/// the endpoint's concurrency (a few entries for most endpoints, many for a busy one) instead of
/// being allocated at its bound, since a proxy may know thousands of endpoints.
/// </summary>
internal sealed class Http1EndpointPool
{
    private const int InitialCapacity = 4;

    private readonly int _maxIdle;
    private (ConnectionContext Connection, long IdleSince)[] _idle;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private int _count;

    public Http1EndpointPool(int maxIdle, TimeSpan idleTimeout, TimeProvider time)
    {
        _maxIdle = maxIdle;
        _idle = new (ConnectionContext, long)[Math.Min(maxIdle, InitialCapacity)];
        _idleTimeout = idleTimeout;
        _time = time;
    }

    public int Count => _count;

    /// <summary>
    /// Takes the newest idle connection that still looks alive, or null. A connection whose
    /// peer has closed, or that has sent bytes nobody asked for, is closed instead of reused.
    /// </summary>
    public ConnectionContext? TryRent()
    {
        while (true)
        {
            ConnectionContext connection;
            long idleSince;
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                (connection, idleSince) = _idle[--_count];
                _idle[_count] = default;
            }

            if (_time.GetElapsedTime(idleSince) < _idleTimeout && LooksAlive(connection))
            {
                return connection;
            }

            Http1Upstream.Close(connection);
        }
    }

    /// <summary>Keeps a connection whose last exchange ended cleanly; closes it when the pool is full.</summary>
    public void Return(ConnectionContext connection)
    {
        lock (_lock)
        {
            if (_count < _maxIdle)
            {
                if (_count == _idle.Length)
                {
                    Array.Resize(ref _idle, Math.Min(_maxIdle, _idle.Length * 2));
                }

                _idle[_count++] = (connection, _time.GetTimestamp());
                return;
            }
        }

        Http1Upstream.Close(connection);
    }

    public void CloseExpired()
    {
        lock (_lock)
        {
            // The stack is ordered by age: the oldest sit at the bottom.
            var expired = 0;
            while (expired < _count && _time.GetElapsedTime(_idle[expired].IdleSince) >= _idleTimeout)
            {
                Http1Upstream.Close(_idle[expired].Connection);
                expired++;
            }

            if (expired > 0)
            {
                Array.Copy(_idle, expired, _idle, 0, _count - expired);
                Array.Clear(_idle, _count - expired, expired);
                _count -= expired;
            }
        }
    }

    public void CloseAll()
    {
        lock (_lock)
        {
            for (var i = 0; i < _count; i++)
            {
                Http1Upstream.Close(_idle[i].Connection);
            }

            Array.Clear(_idle);
            _count = 0;
        }
    }

    private static bool LooksAlive(ConnectionContext connection)
    {
        if (connection.ConnectionClosed.IsCancellationRequested)
        {
            return false;
        }

        var input = connection.Transport.Input;
        if (!input.TryRead(out var result))
        {
            return true;
        }

        var alive = result.Buffer.IsEmpty && !result.IsCompleted && !result.IsCanceled;
        input.AdvanceTo(result.Buffer.Start);
        return alive;
    }
}
