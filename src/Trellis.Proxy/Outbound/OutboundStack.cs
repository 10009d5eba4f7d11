using Trellis.Proxy.Detection;
using Trellis.Proxy.Hosting;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Outbound;

/// <summary>
/// The outbound side, in order: what happens to a connection the local application opened.
/// The only place that knows the order of the outbound layers.
/// </summary>
public static class OutboundStack
{
    public static ProxyConnectionHandler Build(ProxyComponents components)
    {
        var options = components.Options;

        // The end of the line for anything that is not HTTP: bytes both ways, per-connection balancing.
        ProxyConnectionHandler tcp = new TcpForwardLayer(components.Resolver, components.Connector, components.Logger).InvokeAsync;

        // The app's own TLS passes through untouched: the proxy cannot (and must not) read it.
        ProxyConnectionHandler detect = new DetectProtocolLayer(
            http1: tcp,
            http2: tcp,
            tls: tcp,
            opaque: tcp,
            options.DetectTimeout,
            components.Time,
            components.Logger).InvokeAsync;

        // Server-speaks-first ports skip detection, or the client would wait for the timeout.
        ProxyConnectionHandler byPort = connection =>
            options.OpaquePorts.Contains(connection.Target.Port) ? tcp(connection) : detect(connection);

        // Outermost: count the connection and its bytes whatever happens below.
        return new ConnectionMetricsLayer(byPort, components.Metrics).InvokeAsync;
    }
}
