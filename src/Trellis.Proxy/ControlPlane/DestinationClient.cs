using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Trellis.Api.Destination.V1;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Discovery;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// The proxy's side of the destination service: one <c>Get</c> stream per destination path,
/// opened on first use, cached, and closed after it has not been used for
/// <see cref="DestinationClientOptions.IdleTimeout"/>.
/// </summary>
public sealed class DestinationClient : IAsyncDisposable
{
    private readonly Destination.DestinationClient _grpc;
    private readonly DestinationClientOptions _options;
    private readonly PeakEwmaOptions _balancing;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, DestinationWatch> _watches = new(StringComparer.Ordinal);
    private readonly ITimer _sweeper;
    private int _disposed;

    /// <param name="random">Balancer choices and backoff jitter; must be thread-safe (default <see cref="Random.Shared"/>).</param>
    public DestinationClient(
        Destination.DestinationClient grpc,
        DestinationClientOptions options,
        PeakEwmaOptions balancing,
        TimeProvider time,
        ILogger logger,
        Random? random = null)
    {
        if (options.MaxDestinations < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDestinations, "MaxDestinations must be at least 1.");
        if (options.IdleTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.IdleTimeout, "IdleTimeout must be positive.");
        balancing.Validate();
        _grpc = grpc;
        _options = options;
        _balancing = balancing;
        _time = time;
        _random = random ?? Random.Shared;
        _logger = logger;
        _sweeper = time.CreateTimer(static state => ((DestinationClient)state!).EvictIdle(), this, options.IdleTimeout, options.IdleTimeout);
    }

    /// <summary>The open watches, for diagnostics.</summary>
    public ICollection<DestinationWatch> Watches => _watches.Values;

    /// <summary>The watch for <paramref name="path"/>, opening its stream on first use; null past the limit or after disposal.</summary>
    public DestinationWatch? Watch(string path)
    {
        if (_watches.TryGetValue(path, out var watch))
        {
            watch.Touch();
            return watch;
        }
        if (Volatile.Read(ref _disposed) != 0)
            return null;
        if (_watches.Count >= _options.MaxDestinations)
        {
            ControlPlaneLog.TooManyDestinations(_logger, _options.MaxDestinations, path);
            return null;
        }

        var balancer = new PeakEwmaBalancer<DestinationEndpoint>(_balancing, _time, _random);
        var created = new DestinationWatch(path, _grpc, _options, balancer, _time, _random, _logger);
        var winner = _watches.GetOrAdd(path, created);
        if (ReferenceEquals(winner, created))
            created.Start();
        else
            _ = created.DisposeAsync().AsTask(); // lost the race; never started
        winner.Touch();
        return winner;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _sweeper.DisposeAsync();
        foreach (var path in _watches.Keys)
        {
            if (_watches.TryRemove(path, out var watch))
                await watch.DisposeAsync();
        }
    }

    private void EvictIdle()
    {
        var now = _time.GetTimestamp();
        foreach (var (path, watch) in _watches)
        {
            if (_time.GetElapsedTime(watch.LastUsed, now) < _options.IdleTimeout)
                continue;
            if (_watches.TryRemove(new KeyValuePair<string, DestinationWatch>(path, watch)))
            {
                ControlPlaneLog.Evicted(_logger, path);
                // Requests that resolved through it keep their endpoint; only the stream ends.
                _ = watch.DisposeAsync().AsTask();
            }
        }
    }
}
