using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The view of a handed-over client connection that Kestrel's HTTP/2 server gets. It shares the
/// client's pipes (detection only peeked, so the preface is still there) and carries the
/// <see cref="ProxyConnection"/> as a feature for the per-request code. Kestrel disposes the
/// connection context when it is done with it; that is what ends
/// <see cref="Http2Forwarder.ServeAsync"/>, while the socket itself stays owned (and disposed)
/// by the listener that accepted it.
/// </summary>
internal sealed class HandoffConnectionContext : DelegatingConnectionContext
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HandoffConnectionContext(ProxyConnection connection)
        : base(connection.Context)
    {
        Connection = connection;

        // Defaults fall through to the socket's own features (memory pool, socket, TLS, ...).
        Features = new FeatureCollection(Inner.Features);
        Features.Set(connection);
    }

    public ProxyConnection Connection { get; }

    /// <summary>Completes when Kestrel has finished with the connection.</summary>
    public Task Done => _done.Task;


    public override IFeatureCollection Features { get; }






    public override void Abort() => Inner.Abort();

    /// <summary>Signals the hand-off as finished; the accepting listener disposes the socket.</summary>
    public override ValueTask DisposeAsync()
    {
        _done.TrySetResult();
        return base.DisposeAsync();
    }

    /// <summary>The connection never reached Kestrel (the server is stopping).</summary>
    internal void Reject() => _done.TrySetResult();
}
