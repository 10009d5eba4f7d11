using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Transport;

/// <summary>
/// A connection seen through another: identity, items, endpoints, closed token, transport and
/// abort are the inner connection's unless a subclass says otherwise. The base of the views
/// the proxy makes of a socket (TLS plaintext, the HTTP/2 hand-off).
/// </summary>
public abstract class DelegatingConnectionContext : ConnectionContext
{
    protected DelegatingConnectionContext(ConnectionContext inner)
    {
        Inner = inner;
    }

    protected ConnectionContext Inner { get; }

    public override string ConnectionId
    {
        get => Inner.ConnectionId;
        set => Inner.ConnectionId = value;
    }

    public override IDictionary<object, object?> Items
    {
        get => Inner.Items;
        set => Inner.Items = value;
    }

    public override IDuplexPipe Transport
    {
        get => Inner.Transport;
        set => Inner.Transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => Inner.ConnectionClosed;
        set => Inner.ConnectionClosed = value;
    }

    public override EndPoint? LocalEndPoint
    {
        get => Inner.LocalEndPoint;
        set => Inner.LocalEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => Inner.RemoteEndPoint;
        set => Inner.RemoteEndPoint = value;
    }

    public override void Abort(ConnectionAbortedException abortReason) => Inner.Abort(abortReason);
}
