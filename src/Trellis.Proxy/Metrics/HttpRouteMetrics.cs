using System.Collections.Concurrent;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// Pre-bound request and response series of one direction and authority. Response series are
/// cached by (status, classification, grpc-status) so recording a response does one lookup
/// and no allocation once warm.
/// </summary>
public sealed class HttpRouteMetrics
{
    private readonly ProxyMetrics _metrics;
    private readonly string _direction;
    private readonly string _authority;
    private readonly string _tls;
    private readonly string _clientId;
    private readonly ConcurrentDictionary<(int Status, ResponseClass Class, int GrpcStatus, DestinationLabels Destination), (Counter Total, Histogram Latency)> _responses = new();

    internal HttpRouteMetrics(ProxyMetrics metrics, string direction, string authority, string tls, string clientId)
    {
        _metrics = metrics;
        _direction = direction;
        _authority = authority;
        _tls = tls;
        _clientId = clientId;
        Requests = metrics.RequestTotal.WithLabels(direction, authority, tls, clientId);
    }

    public Counter Requests { get; }

    /// <param name="status">HTTP status code, or 0 when no response was received.</param>
    /// <param name="grpcStatus">gRPC status from the trailers, or -1 when not gRPC.</param>
    /// <param name="latencyMs">From request headers received to response stream complete.</param>
    /// <param name="destination">Who answered, as discovery named it; default when unknown.</param>
    public void RecordResponse(int status, ResponseClass classification, int grpcStatus, double latencyMs, DestinationLabels destination = default)
    {
        var series = _responses.GetOrAdd((status, classification, grpcStatus, destination), static (key, self) => self.Bind(key), this);
        series.Total.Increment();
        series.Latency.Observe(latencyMs);
    }

    private (Counter, Histogram) Bind((int Status, ResponseClass Class, int GrpcStatus, DestinationLabels Destination) key)
    {
        var status = key.Status == 0 ? string.Empty : key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var classification = key.Class == ResponseClass.Success ? "success" : "failure";
        var grpc = key.GrpcStatus < 0 ? string.Empty : key.GrpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dst = key.Destination;
        string[] labels =
            [_direction, _authority, _tls, _clientId, dst.ServerId ?? string.Empty, dst.Namespace ?? string.Empty, dst.Service ?? string.Empty, status, classification, grpc];
        return (_metrics.ResponseTotal.WithLabels(labels), _metrics.ResponseLatencyMs.WithLabels(labels));
    }
}

/// <summary>The <c>classification</c> label: did the request succeed, as a client would judge.</summary>
public enum ResponseClass
{
    Success,
    Failure,
}

public static class ResponseClassifier
{
    /// <summary>
    /// 5xx and a missing response fail; for gRPC, any non-OK grpc-status fails (a gRPC error
    /// travels in a 200 response).
    /// </summary>
    public static ResponseClass Classify(int status, int grpcStatus) =>
        status == 0 || status >= 500 || grpcStatus > 0 ? ResponseClass.Failure : ResponseClass.Success;
}
