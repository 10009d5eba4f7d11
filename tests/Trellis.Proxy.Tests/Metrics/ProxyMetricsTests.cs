using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Metrics;

public sealed class ProxyMetricsTests
{
    [Fact]
    public void ForHttp_SameRouteTwice_SharesOneBinding()
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());

        var first = metrics.ForHttp(TrafficDirection.Outbound, "web.demo:8000", tls: true, clientId: "spiffe://a");
        var second = metrics.ForHttp(TrafficDirection.Outbound, "web.demo:8000", tls: true, clientId: "spiffe://a");

        Assert.Same(first, second);
        Assert.NotSame(first, metrics.ForHttp(TrafficDirection.Inbound, "web.demo:8000", tls: true, clientId: "spiffe://a"));
    }

    [Fact]
    public void ForHttp_MoreAuthoritiesThanTheLimit_TheRestShareTheOverflowSeries()
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());
        for (var i = 0; i < ProxyMetrics.AuthorityLimit; i++)
        {
            metrics.ForHttp(TrafficDirection.Inbound, $"host-{i}", tls: false).Requests.Increment();
        }

        metrics.ForHttp(TrafficDirection.Inbound, "one-too-many", tls: false).Requests.Increment();
        metrics.ForHttp(TrafficDirection.Inbound, "two-too-many", tls: false).Requests.Increment();
        metrics.ForHttp(TrafficDirection.Inbound, "host-7", tls: false).Requests.Increment();

        var text = metrics.Registry.Render();
        Assert.Contains("request_total{direction=\"inbound\",authority=\"(overflow)\",tls=\"false\",client_id=\"\"} 2\n", text);
        Assert.Contains("request_total{direction=\"inbound\",authority=\"host-7\",tls=\"false\",client_id=\"\"} 2\n", text);
        Assert.DoesNotContain("too-many", text);
        Assert.Equal(ProxyMetrics.AuthorityLimit + 1, text.Split('\n').Count(l => l.StartsWith("request_total{", StringComparison.Ordinal)));
    }
}
