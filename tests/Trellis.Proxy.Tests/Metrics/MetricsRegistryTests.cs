using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Metrics;

public class MetricsRegistryTests
{
    [Fact]
    public void Render_Counter_WritesHelpTypeAndSeries()
    {
        var registry = new MetricsRegistry();
        var family = registry.Counter("request_total", "Total count of HTTP requests.", "direction", "authority");
        family.WithLabels("outbound", "web:80").Add(3);

        Assert.Equal(
            "# HELP request_total Total count of HTTP requests.\n" +
            "# TYPE request_total counter\n" +
            "request_total{direction=\"outbound\",authority=\"web:80\"} 3\n",
            registry.Render());
    }

    [Fact]
    public void Render_LabelValueWithQuoteBackslashNewline_IsEscaped()
    {
        var registry = new MetricsRegistry();
        registry.Counter("c", "h", "authority").WithLabels("a\"b\\c\nd").Increment();

        Assert.Contains("c{authority=\"a\\\"b\\\\c\\nd\"} 1\n", registry.Render());
    }

    [Fact]
    public void Total_SumsEverySeriesOfTheFamily()
    {
        var family = new MetricsRegistry().Counter("c", "h", "a");
        family.WithLabels("x").Add(40);
        family.WithLabels("y").Add(2);

        Assert.Equal(42, family.Total());
        Assert.Equal(0, new MetricsRegistry().Counter("empty", "h", "a").Total());
    }

    [Fact]
    public void WithLabels_SameValues_ReturnsSameSeries()
    {
        var family = new MetricsRegistry().Counter("c", "h", "a");

        Assert.Same(family.WithLabels("x"), family.WithLabels("x"));
        Assert.NotSame(family.WithLabels("x"), family.WithLabels("y"));
    }

    [Fact]
    public void WithLabels_WrongNumberOfValues_Throws()
    {
        var family = new MetricsRegistry().Counter("c", "h", "a", "b");

        Assert.Throws<ArgumentException>(() => family.WithLabels("only-one"));
    }

    [Fact]
    public void Render_Histogram_WritesCumulativeBucketsCountAndSum()
    {
        var registry = new MetricsRegistry();
        var histogram = registry.Histogram("response_latency_ms", "Latency.", [1, 10], "direction").WithLabels("inbound");
        histogram.Observe(0.5);
        histogram.Observe(1);
        histogram.Observe(7);
        histogram.Observe(200);

        Assert.Equal(
            "# HELP response_latency_ms Latency.\n" +
            "# TYPE response_latency_ms histogram\n" +
            "response_latency_ms_bucket{direction=\"inbound\",le=\"1\"} 2\n" +
            "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 3\n" +
            "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 4\n" +
            "response_latency_ms_count{direction=\"inbound\"} 4\n" +
            "response_latency_ms_sum{direction=\"inbound\"} 208.5\n",
            registry.Render());
    }

    [Fact]
    public void RecordResponse_GrpcFailureIn200_IsClassifiedAsFailure()
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());
        var route = metrics.ForHttp(TrafficDirection.Outbound, "svc:50051", tls: false);

        route.RecordResponse(200, ResponseClassifier.Classify(200, 14), 14, 3);

        Assert.Contains(
            "response_total{direction=\"outbound\",authority=\"svc:50051\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"failure\",grpc_status=\"14\"} 1\n",
            metrics.Registry.Render());
    }

    [Fact]
    public void TcpMetrics_OpenThenClose_TracksGaugeAndCloseReason()
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());
        var tcp = metrics.ForTcp(TrafficDirection.Inbound, TcpPeer.Source, tls: true);

        tcp.ConnectionOpened();
        tcp.ConnectionOpened();
        tcp.ConnectionClosed(string.Empty);

        var text = metrics.Registry.Render();
        Assert.Contains("tcp_open_total{direction=\"inbound\",peer=\"src\",tls=\"true\"} 2\n", text);
        Assert.Contains("tcp_open_connections{direction=\"inbound\",peer=\"src\",tls=\"true\"} 1\n", text);
        Assert.Contains("tcp_close_total{direction=\"inbound\",peer=\"src\",tls=\"true\",errno=\"\"} 1\n", text);
    }

    [Fact]
    public void RecordResponse_WithDestinationAndCaller_LabelsWhoCalledAndWhoAnswered()
    {
        var metrics = new ProxyMetrics(new MetricsRegistry());
        var route = metrics.ForHttp(TrafficDirection.Outbound, "web.demo:8000", tls: true, clientId: "spiffe://cluster.local/ns/demo/sa/client");
        var endpoint = new Trellis.Proxy.Discovery.UpstreamEndpoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4143))
        {
            Identity = "spiffe://cluster.local/ns/demo/sa/web",
            Labels = new Dictionary<string, string> { ["dst_namespace"] = "demo", ["dst_service"] = "web", ["dst_pod"] = "web-1" },
        };

        route.RecordResponse(200, ResponseClass.Success, -1, 1, DestinationLabels.Of(endpoint));

        Assert.Contains(
            "response_total{direction=\"outbound\",authority=\"web.demo:8000\",tls=\"true\",client_id=\"spiffe://cluster.local/ns/demo/sa/client\"," +
            "server_id=\"spiffe://cluster.local/ns/demo/sa/web\",dst_namespace=\"demo\",dst_service=\"web\",status_code=\"200\",classification=\"success\",grpc_status=\"\"} 1\n",
            metrics.Registry.Render());
    }
}
