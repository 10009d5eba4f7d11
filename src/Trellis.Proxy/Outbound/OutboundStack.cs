using Trellis.Proxy.Detection;
using Trellis.Proxy.Hosting;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Outbound;

/// <summary>
/// The outbound side, in order: what happens to a connection the local application opened.
/// The only place that knows the order of the outbound layers.
/// </summary>
public static class OutboundStack
{
    public static ProxyStack Build(ProxyComponents components)
    {
        var options = components.Options;

        // The end of the line for anything that is not HTTP: bytes both ways, per-connection balancing.
        ProxyConnectionHandler tcp = components.NewTcpForwarder();

        // HTTP is balanced per request; the connector upgrades hops to meshed endpoints to mTLS.
        var http1 = components.NewHttp1Forwarder();
        var http2 = components.NewHttp2Forwarder();

        // The app's own TLS passes through untouched: the proxy cannot (and must not) read it.
        ProxyConnectionHandler detect = new DetectProtocolLayer(
            http1: http1.ServeAsync,
            http2: http2.ServeAsync,
            tls: tcp,
            opaque: tcp,
            options.DetectTimeout,
            components.Time,
            components.Logger).InvokeAsync;

        // Server-speaks-first ports skip detection, or the client would wait for the timeout.
        ProxyConnectionHandler byPort = connection =>
            options.OpaquePorts.Contains(connection.Target.Port) ? tcp(connection) : detect(connection);

        // Outermost: count the connection and its bytes whatever happens below.
        return new ProxyStack(new ConnectionMetricsLayer(byPort, components.Metrics).InvokeAsync, http1, http2);
    }
}
