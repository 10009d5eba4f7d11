using Trellis.Proxy.Discovery;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// The <c>server_id</c>, <c>dst_namespace</c> and <c>dst_service</c> labels of a response: who
/// answered, as discovery named the endpoint. Default (all null) when the endpoint is unknown
/// to the mesh.
/// </summary>
public readonly record struct DestinationLabels(string? ServerId, string? Namespace, string? Service)
{
    public static DestinationLabels Of(in UpstreamEndpoint endpoint) => new(
        endpoint.Identity,
        endpoint.Labels is { } labels && labels.TryGetValue("dst_namespace", out var ns) ? ns : null,
        endpoint.Labels is { } more && more.TryGetValue("dst_service", out var service) ? service : null);
}
