using System.Net;

namespace Trellis.Proxy.Balancing;

/// <summary>
/// Power of two choices over peak-EWMA costs: pick two distinct endpoints at random and take
/// the cheaper. Random pairs avoid the herd that "always the least loaded" sends to one
/// endpoint, and comparing two is enough to steer clear of slow or busy ones.
/// </summary>
/// <remarks>
/// The endpoint set is an immutable array swapped atomically: a pick reads one snapshot, and
/// an update never touches requests in flight (their handles keep the removed endpoint's
/// load alive until they complete). An endpoint that stays in the set keeps its estimate.
/// </remarks>
/// <typeparam name="T">Discovery's description of an endpoint.</typeparam>
public sealed class PeakEwmaBalancer<T>
{
    private readonly PeakEwmaOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Lock _updateLock = new();
    private BalancerEndpoint<T>[] _endpoints = [];

    /// <param name="random">
    /// The random source for the two choices; it must be safe to use from many threads
    /// (<see cref="Random.Shared"/>, the default) unless one thread picks, as in tests.
    /// </param>
    public PeakEwmaBalancer(PeakEwmaOptions options, TimeProvider time, Random? random = null)
    {
        options.Validate();
        _options = options;
        _time = time;
        _random = random ?? Random.Shared;
    }

    /// <summary>The current endpoint set (a snapshot; never modified).</summary>
    public IReadOnlyList<BalancerEndpoint<T>> Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>Replaces the endpoint set; endpoints at an address already present keep their load.</summary>
    public void SetEndpoints(IReadOnlyList<BalancerTarget<T>> targets)
    {
        lock (_updateLock)
        {
            var current = _endpoints;
            var loads = new Dictionary<IPEndPoint, PeakEwma>(current.Length);
            foreach (var endpoint in current)
                loads[endpoint.Address] = endpoint.Load;

            var next = new BalancerEndpoint<T>[targets.Count];
            for (var i = 0; i < targets.Count; i++)
            {
                var target = targets[i];
                var load = loads.GetValueOrDefault(target.Address) ?? new PeakEwma(_options, _time);
                next[i] = new BalancerEndpoint<T>(target.Address, target.Weight, target.Value, load);
            }
            Volatile.Write(ref _endpoints, next);
        }
    }

    /// <summary>The endpoint for the next request, or null when the set is empty.</summary>
    public BalancerEndpoint<T>? Pick()
    {
        var endpoints = Volatile.Read(ref _endpoints);
        switch (endpoints.Length)
        {
            case 0:
                return null;
            case 1:
                return endpoints[0];
        }

        var a = _random.Next(endpoints.Length);
        var b = _random.Next(endpoints.Length - 1);
        if (b >= a)
            b++;

        var now = _time.GetTimestamp();
        var first = endpoints[a];
        var second = endpoints[b];
        return first.Load.Cost(now, first.Weight) <= second.Load.Cost(now, second.Weight) ? first : second;
    }
}
