using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Transport;

/// <summary>
/// One accepted client connection as it moves through a stack's layers. It carries typed
/// values that layers read (where the client meant to go, which side accepted it, what was
/// detected) instead of a property bag.
/// </summary>
public sealed class ProxyConnection
{
    public ProxyConnection(ConnectionContext context, TrafficDirection direction, IPEndPoint target)
    {
        Context = context;
        Direction = direction;
        Target = target;
    }

    /// <summary>The client's connection: its pipes, features and abort.</summary>
    public ConnectionContext Context { get; }

    public IDuplexPipe Transport => Context.Transport;

    public TrafficDirection Direction { get; }

    /// <summary>
    /// The address the client dialled: its original destination when intercepted, the
    /// configured static destination otherwise, or the local application on the inbound side.
    /// </summary>
    public IPEndPoint Target { get; }

    public IPEndPoint? ClientAddress => Context.RemoteEndPoint as IPEndPoint;

    /// <summary>Set by the detection layer.</summary>
    public DetectedProtocol Protocol { get; set; } = DetectedProtocol.Unknown;

    /// <summary>Set by the TLS layer when it terminated mesh mTLS on this connection.</summary>
    public ConnectionTls Tls { get; set; } = ConnectionTls.None;

    /// <summary>
    /// Signalled when the client's side of the stream ends. Kestrel fires it on a FIN too, so
    /// a half-closed client counts as gone: opaque forwarding, where half-close is normal,
    /// must not cancel on it.
    /// </summary>
    public CancellationToken Closed => Context.ConnectionClosed;
}

/// <summary>A layer's continuation: the rest of the stack for one connection.</summary>
public delegate Task ProxyConnectionHandler(ProxyConnection connection);
