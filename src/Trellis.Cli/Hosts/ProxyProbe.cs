namespace Trellis.Cli.Hosts;

/// <summary>
/// Asks a pod's proxy whether it is ready (admin <c>/ready</c> on the pod address): listening,
/// and certified by the identity service. A pod is an endpoint only once its proxy is, as a
/// Kubernetes pod with Linkerd is Ready only once the proxy's readiness probe passes: until the
/// proxy holds a certificate, meshed clients cannot finish the mTLS handshake with it.
/// </summary>
internal static class ProxyProbe
{
    /// <returns>Null when the proxy answered 200; otherwise what is wrong, for a check or a log line.</returns>
    public static async Task<string?> ProblemAsync(HttpClient http, string address, int port, CancellationToken cancellationToken)
    {
        var url = $"http://{address}:{port}/ready";
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"{url} answered {(int)response.StatusCode}: not yet certified or draining";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"{url} unreachable: {e.Message}";
        }
    }
}
