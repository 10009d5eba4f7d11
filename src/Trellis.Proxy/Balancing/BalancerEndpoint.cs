using System.Net;

namespace Trellis.Proxy.Balancing;

/// <summary>One endpoint of a balancer's set: where to dial, its share, what discovery said about it.</summary>
/// <typeparam name="T">Discovery's description of the endpoint (identity, labels, hints).</typeparam>
public sealed class BalancerEndpoint<T>
{
    internal BalancerEndpoint(IPEndPoint address, uint weight, T value, PeakEwma load)
    {
        Address = address;
        Weight = weight == 0 ? 1 : weight;
        Value = value;
        Load = load;
    }

    public IPEndPoint Address { get; }

    /// <summary>Relative share of traffic, at least 1.</summary>
    public uint Weight { get; }

    public T Value { get; }

    internal PeakEwma Load { get; }

    /// <summary>Requests in flight to this endpoint.</summary>
    public int Pending => Load.Pending;

    /// <summary>Counts a request against this endpoint until the returned handle completes.</summary>
    public PendingRequest Start() => Load.Start();
}

/// <summary>An endpoint as discovery describes it, before the balancer tracks its load.</summary>
public readonly record struct BalancerTarget<T>(IPEndPoint Address, uint Weight, T Value);
