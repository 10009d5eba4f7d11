using System.Net;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Balancing;

namespace Trellis.Proxy.Tests.Balancing;

public class PeakEwmaBalancerTests
{
    private static readonly IPEndPoint Fast = new(IPAddress.Parse("10.42.0.1"), 8080);
    private static readonly IPEndPoint Slow = new(IPAddress.Parse("10.42.0.2"), 8080);
    private static readonly IPEndPoint Other = new(IPAddress.Parse("10.42.0.3"), 8080);

    private readonly FakeTimeProvider _time = new();

    private PeakEwmaBalancer<string> NewBalancer(params IPEndPoint[] addresses)
    {
        var balancer = new PeakEwmaBalancer<string>(new PeakEwmaOptions(), _time, new Random(42));
        var targets = new BalancerTarget<string>[addresses.Length];
        for (var i = 0; i < addresses.Length; i++)
            targets[i] = new BalancerTarget<string>(addresses[i], 1, addresses[i].ToString());
        balancer.SetEndpoints(targets);
        return balancer;
    }

    /// <summary>Sends requests one after another; each takes the endpoint's latency on the fake clock.</summary>
    private Dictionary<IPEndPoint, int> Run(PeakEwmaBalancer<string> balancer, int requests, Func<IPEndPoint, (TimeSpan Latency, bool Failed)> behaviour)
    {
        var counts = new Dictionary<IPEndPoint, int>();
        for (var i = 0; i < requests; i++)
        {
            var endpoint = balancer.Pick()!;
            var pending = endpoint.Start();
            var (latency, failed) = behaviour(endpoint.Address);
            _time.Advance(latency);
            pending.Complete(failed);
            counts[endpoint.Address] = counts.GetValueOrDefault(endpoint.Address) + 1;
        }
        return counts;
    }

    [Fact]
    public void Pick_FastAndSlowEndpoint_FastGetsLargeMajority()
    {
        var balancer = NewBalancer(Fast, Slow);

        var counts = Run(balancer, 1000, address =>
            (address.Equals(Fast) ? TimeSpan.FromMilliseconds(5) : TimeSpan.FromMilliseconds(80), false));

        Assert.True(counts.GetValueOrDefault(Fast) > 900, $"fast got {counts.GetValueOrDefault(Fast)} of 1000");
        Assert.True(counts.GetValueOrDefault(Slow) > 0, "the slow endpoint is still probed as its estimate decays");
    }

    [Fact]
    public void Pick_OneFastAmongFour_FastGetsMoreThanItsUniformShare()
    {
        var balancer = NewBalancer(Fast, Slow, Other, new IPEndPoint(IPAddress.Parse("10.42.0.4"), 8080));

        var counts = Run(balancer, 1000, address =>
            (address.Equals(Fast) ? TimeSpan.FromMilliseconds(5) : TimeSpan.FromMilliseconds(80), false));

        // Uniform would be 250; the fast endpoint wins every pair it is drawn into (half of them).
        Assert.True(counts.GetValueOrDefault(Fast) > 400, $"fast got {counts.GetValueOrDefault(Fast)} of 1000");
    }

    [Fact]
    public void Pick_FailingEndpoint_GetsLessTraffic()
    {
        var balancer = NewBalancer(Fast, Slow);

        // Both answer in 10 ms, but Slow fails every request, and fails fast.
        var counts = Run(balancer, 1000, address =>
            address.Equals(Slow) ? (TimeSpan.FromMilliseconds(1), true) : (TimeSpan.FromMilliseconds(10), false));

        Assert.True(counts.GetValueOrDefault(Slow) < 100, $"failing endpoint got {counts.GetValueOrDefault(Slow)} of 1000");
    }

    [Fact]
    public void Pick_PendingRequests_SpreadAcrossEqualEndpoints()
    {
        var balancer = NewBalancer(Fast, Slow);

        // Nothing completes: in-flight requests alone must spread the load.
        var counts = new Dictionary<IPEndPoint, int>();
        for (var i = 0; i < 100; i++)
        {
            var endpoint = balancer.Pick()!;
            endpoint.Start();
            counts[endpoint.Address] = counts.GetValueOrDefault(endpoint.Address) + 1;
        }

        Assert.Equal(50, counts[Fast]);
        Assert.Equal(50, counts[Slow]);
    }

    [Fact]
    public void Pick_HeavierWeight_GetsMoreTraffic()
    {
        var balancer = new PeakEwmaBalancer<string>(new PeakEwmaOptions(), _time, new Random(42));
        balancer.SetEndpoints([new(Fast, 3, "heavy"), new(Slow, 1, "light")]);

        var counts = new Dictionary<IPEndPoint, int>();
        for (var i = 0; i < 400; i++)
        {
            var endpoint = balancer.Pick()!;
            endpoint.Start();
            counts[endpoint.Address] = counts.GetValueOrDefault(endpoint.Address) + 1;
        }

        Assert.Equal(300, counts[Fast]);
        Assert.Equal(100, counts[Slow]);
    }

    [Fact]
    public void Pick_SingleEndpoint_AlwaysReturnsIt()
    {
        var balancer = NewBalancer(Fast);

        var counts = Run(balancer, 10, _ => (TimeSpan.FromMilliseconds(1), true));

        Assert.Equal(10, counts[Fast]);
    }

    [Fact]
    public void Pick_EmptySet_ReturnsNull()
    {
        var balancer = NewBalancer();

        Assert.Null(balancer.Pick());
        Assert.Empty(balancer.Endpoints);
    }

    [Fact]
    public void SetEndpoints_RemovalDuringInFlightRequest_RequestCompletesAndEndpointIsNoLongerPicked()
    {
        var balancer = NewBalancer(Fast, Slow);
        var removed = balancer.Endpoints.Single(e => e.Address.Equals(Slow));
        var kept = balancer.Endpoints.Single(e => e.Address.Equals(Fast));
        var inFlightOnRemoved = removed.Start();
        var inFlightOnKept = kept.Start();

        balancer.SetEndpoints([new(Fast, 1, "fast")]);

        for (var i = 0; i < 20; i++)
            Assert.Equal(Fast, balancer.Pick()!.Address);
        // The kept endpoint is the same load: its request in flight still counts.
        Assert.Equal(1, balancer.Endpoints[0].Pending);
        Assert.Equal(1, removed.Pending);

        _time.Advance(TimeSpan.FromMilliseconds(3));
        inFlightOnRemoved.Complete(failed: false);
        inFlightOnKept.Complete(failed: false);

        Assert.Equal(0, removed.Pending);
        Assert.Equal(0, balancer.Endpoints[0].Pending);
    }

    [Fact]
    public void SetEndpoints_SameAddressAgain_KeepsEstimate()
    {
        var balancer = NewBalancer(Fast, Slow);
        var slow = balancer.Endpoints.Single(e => e.Address.Equals(Slow));
        slow.Start().Complete(TimeSpan.FromSeconds(2), failed: false);

        balancer.SetEndpoints([new(Fast, 1, "fast"), new(Slow, 1, "slow, relabelled")]);

        var again = balancer.Endpoints.Single(e => e.Address.Equals(Slow));
        Assert.Equal("slow, relabelled", again.Value);
        Assert.Equal(2000, again.Load.EstimateMs(_time.GetTimestamp()), precision: 3);
    }

    [Fact]
    public void Constructor_NonPositiveDecayTime_Throws()
    {
        var options = new PeakEwmaOptions { DecayTime = TimeSpan.Zero };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new PeakEwmaBalancer<string>(options, _time));
        Assert.Equal("DecayTime", error.ParamName);
    }

    [Fact]
    public void Complete_DefaultHandle_DoesNothing()
    {
        var handle = default(PendingRequest);

        handle.Complete(failed: true);
        handle.Complete(TimeSpan.FromSeconds(1), failed: false);

        Assert.False(handle.IsTracked);
    }
}
