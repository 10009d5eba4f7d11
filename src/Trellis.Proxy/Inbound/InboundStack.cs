using Microsoft.Extensions.Logging;
using Trellis.Proxy.Detection;
using Trellis.Proxy.Hosting;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Inbound;

/// <summary>
/// The inbound side, in order: what happens to a connection from another workload to the
/// local application. The only place that knows the order of the inbound layers.
/// </summary>
public static class InboundStack
{
    public static ProxyStack Build(ProxyComponents components)
    {
        var options = components.Options;

        // Anything not HTTP reaches the application as bytes.
        ProxyConnectionHandler tcp = components.NewTcpForwarder();

        var http1 = components.NewHttp1Forwarder();
        var http2 = components.NewHttp2Forwarder();

        // Inside a terminated mesh tunnel the caller speaks HTTP or opaque bytes (or its own TLS).
        ProxyConnectionHandler detectInsideMeshTls = new DetectProtocolLayer(
            http1.ServeAsync, http2.ServeAsync, tls: tcp, opaque: tcp, options.DetectTimeout, components.Time, components.Logger).InvokeAsync;

        // A TLS ClientHello with the mesh ALPN is a peer proxy: terminate mTLS, learn the
        // caller's identity. Any other TLS is the app's own and passes through as bytes.
        // Connections are counted where their TLS state is known: after termination for mesh
        // traffic (tls="true"), at once for the rest; a failed handshake is counted by the TLS
        // layer as a close with errno "tls_handshake".
        // A mesh connection the peer chose to multiplex carries HTTP/1 connections as tunnels.
        var tls = components.Identity is null
            ? Metered(tcp)
            : MeshTls(Metered(detectInsideMeshTls), Metered(components.NewTunnelsLayer(http1)));

        ProxyConnectionHandler detect = new DetectProtocolLayer(
            Metered(http1.ServeAsync), Metered(http2.ServeAsync), tls, opaque: Metered(tcp), options.DetectTimeout, components.Time, components.Logger).InvokeAsync;

        // Server-speaks-first ports skip HTTP detection. A meshed caller still opens with a
        // ClientHello (its proxy speaks first), so with an identity the mesh TLS layer looks for
        // one; an unmeshed server-speaks-first caller then waits for the detect timeout.
        ProxyConnectionHandler opaquePort = components.Identity is null
            ? Metered(tcp)
            : new DetectProtocolLayer(Metered(tcp), Metered(tcp), MeshTls(Metered(tcp), multiplexed: null), opaque: Metered(tcp), options.DetectTimeout, components.Time, components.Logger).InvokeAsync;
        ProxyConnectionHandler byPort = connection =>
            options.OpaquePorts.Contains(connection.Target.Port) ? opaquePort(connection) : detect(connection);

        return new ProxyStack(byPort, http1, http2);

        ProxyConnectionHandler Metered(ProxyConnectionHandler next) => new ConnectionMetricsLayer(next, components.Metrics).InvokeAsync;

        ProxyConnectionHandler MeshTls(ProxyConnectionHandler next, ProxyConnectionHandler? multiplexed) => new MeshTlsServerLayer(
            next, Metered(tcp), components.Identity!, components.Metrics, components.Time,
            components.LoggerFactory.CreateLogger<MeshTlsServerLayer>(), multiplexed: multiplexed).InvokeAsync;
    }
}
