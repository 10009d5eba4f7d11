using System.Net;
using Trellis.Proxy.Metrics;

namespace Trellis.Proxy.Admin;

/// <summary>
/// The admin routes: what each request is answered with. <c>/shutdown</c> takes only POST,
/// and only from loopback, as Linkerd's admin server does: a remote or accidental GET must
/// not stop a workload's proxy.
/// </summary>
public sealed class AdminApplication
{
    internal const string TextPlain = "text/plain; charset=utf-8";
    private const string PrometheusText = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MetricsRegistry _registry;
    private readonly ProxyState _state;
    private readonly Action _requestShutdown;

    public AdminApplication(MetricsRegistry registry, ProxyState state, Action requestShutdown)
    {
        _registry = registry;
        _state = state;
        _requestShutdown = requestShutdown;
    }

    /// <param name="path">The request target's path, without its query.</param>
    internal (int Status, string ContentType, string Body) Handle(string method, string path, IPAddress? remote)
    {
        var isRead = method is "GET" or "HEAD";
        return path switch
        {
            "/metrics" when isRead => (200, PrometheusText, _registry.Render()),
            "/ready" when isRead => _state.IsReady ? (200, TextPlain, "ready\n") : (503, TextPlain, "not ready\n"),
            "/live" when isRead => (200, TextPlain, "live\n"),
            "/shutdown" when method != "POST" => (405, TextPlain, "use POST /shutdown\n"),
            "/shutdown" when remote is null || !IPAddress.IsLoopback(remote) => (403, TextPlain, "shutdown is only accepted from localhost\n"),
            "/shutdown" => Shutdown(),
            "/metrics" or "/ready" or "/live" => (405, TextPlain, "use GET\n"),
            _ => (404, TextPlain, "not found: try /metrics, /ready, /live or POST /shutdown\n"),
        };
    }

    private (int, string, string) Shutdown()
    {
        _requestShutdown();
        return (200, TextPlain, "shutting down\n");
    }
}
