using System.Collections.Concurrent;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Knows every live client connection, so a graceful shutdown can wait for them to finish and
/// then abort the stragglers once the drain deadline passes.
/// </summary>
public sealed class ConnectionTracker : IDisposable
{
    private readonly ConcurrentDictionary<ProxyConnection, byte> _live = new();
    private readonly CancellationTokenSource _draining = new();
    private TaskCompletionSource _empty = NewEmptySignal();

    public int Count => _live.Count;

    /// <summary>
    /// Signalled when a drain starts: HTTP layers finish the request in flight, answer it with
    /// <c>Connection: close</c>, and stop reading further requests.
    /// </summary>
    public CancellationToken Draining => _draining.Token;

    public Registration Track(ProxyConnection connection)
    {
        _live.TryAdd(connection, 0);
        return new Registration(this, connection);
    }

    /// <summary>Waits until no connection is left or the deadline passes, then aborts the rest.</summary>
    public async Task DrainAsync(TimeSpan deadline, TimeProvider time)
    {
        _draining.Cancel();
        if (!_live.IsEmpty)
        {
            var empty = Volatile.Read(ref _empty).Task;
            if (_live.IsEmpty)
            {
                return;
            }

            await Task.WhenAny(empty, Task.Delay(deadline, time));
        }

        foreach (var connection in _live.Keys)
        {
            connection.Context.Abort();
        }
    }

    public void Dispose() => _draining.Dispose();

    private void Remove(ProxyConnection connection)
    {
        _live.TryRemove(connection, out _);
        if (_live.IsEmpty)
        {
            Interlocked.Exchange(ref _empty, NewEmptySignal()).TrySetResult();
        }
    }

    private static TaskCompletionSource NewEmptySignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public readonly struct Registration : IDisposable
    {
        private readonly ConnectionTracker _tracker;
        private readonly ProxyConnection _connection;

        internal Registration(ConnectionTracker tracker, ProxyConnection connection)
        {
            _tracker = tracker;
            _connection = connection;
        }

        public void Dispose() => _tracker.Remove(_connection);
    }
}
