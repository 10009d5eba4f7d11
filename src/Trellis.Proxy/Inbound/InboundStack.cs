using Trellis.Proxy.Detection;
using Trellis.Proxy.Hosting;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Inbound;

/// <summary>
/// The inbound side, in order: what happens to a connection from another workload to the
/// local application. The only place that knows the order of the inbound layers.
/// </summary>
public static class InboundStack
{
    public static ProxyConnectionHandler Build(ProxyComponents components)
    {
        var options = components.Options;

        // Anything not HTTP reaches the application as bytes.
        ProxyConnectionHandler tcp = new TcpForwardLayer(components.Resolver, components.Connector, components.Logger).InvokeAsync;

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
