using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Multiplexing;

/// <summary>
/// The server side of a multiplexed mesh connection (its client chose
/// <see cref="Tls.MeshTls.MultiplexedAlpn"/>): every tunnel the peer opens becomes a connection
/// of its own for <c>next</c>, with the mesh connection's target and TLS identity. On a drain
/// the peer is told to open no more (GOAWAY) and the connection ends with its last tunnel.
/// </summary>
public sealed class MultiplexedTunnelsLayer
{
    private readonly ProxyConnectionHandler _next;
    private readonly CancellationToken _draining;

    public MultiplexedTunnelsLayer(ProxyConnectionHandler next, CancellationToken draining)
    {
        _next = next;
        _draining = draining;
    }

    public async Task InvokeAsync(ProxyConnection connection)
    {
        var multiplexed = MultiplexedConnection.StartServer(
            connection.Context,
            stream => _next(new ProxyConnection(stream, connection.Direction, connection.Target) { Tls = connection.Tls }));
        await using (_draining.UnsafeRegister(static state => ((MultiplexedConnection)state!).GoAway(), multiplexed))
        {
            await multiplexed.Running;
        }
    }
}
