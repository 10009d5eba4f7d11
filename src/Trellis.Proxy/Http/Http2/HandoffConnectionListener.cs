using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// A Kestrel transport that accepts nothing itself: the proxy's detection layer has already
/// accepted the socket and read past nothing, and <see cref="Enqueue"/> passes the connection in.
/// Both halves of Kestrel's public transport contract (factory and listener) are one object
/// because there is exactly one hand-off queue per server.
/// </summary>
internal sealed class HandoffConnectionListener : IConnectionListenerFactory, IConnectionListener
{
    private readonly Channel<HandoffConnectionContext> _queue =
        Channel.CreateUnbounded<HandoffConnectionContext>(new UnboundedChannelOptions { SingleReader = true });

    public EndPoint EndPoint => HandoffEndPoint.Instance;

    /// <summary>Queues a connection for Kestrel; false once the server has stopped accepting.</summary>
    public bool Enqueue(HandoffConnectionContext connection) => _queue.Writer.TryWrite(connection);

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not HandoffEndPoint)
        {
            throw new NotSupportedException($"The HTTP/2 hand-off transport cannot bind {endpoint}; it only serves handed-over connections.");
        }

        return ValueTask.FromResult<IConnectionListener>(this);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _queue.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            // Kestrel's accept loop ends on null.
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private void Close()
    {
        if (_queue.Writer.TryComplete())
        {
            // Connections queued but never accepted: release their ServeAsync callers.
            while (_queue.Reader.TryRead(out var connection))
            {
                connection.Reject();
            }
        }
    }
}
