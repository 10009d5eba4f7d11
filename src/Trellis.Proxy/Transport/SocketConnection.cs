using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Trellis.Proxy.Transport;

/// <summary>
/// A TCP socket seen as a pair of pipes, for both accepted and dialled connections.
/// Written here rather than taken from Kestrel's socket transport because a proxy must pass
/// half-closes on: Kestrel's transport treats the end of either direction as the end of the
/// connection (a FIN from the client fires ConnectionClosed; completing the output resets the
/// input), which breaks opaque protocols that send, shut down writing and then read.
/// Pipe continuations run inline on the socket's completion, so a forwarded request moves from
/// one socket to the other in one call chain without a thread-pool hop.
/// </summary>
public sealed class SocketConnection : ConnectionContext
{
    /// <summary>Bytes a connection may hold in each direction before the writer waits: bounds memory per connection.</summary>
    private const long PauseThreshold = 64 * 1024;
    private const int MinimumSegmentSize = 4096;

    private static readonly PipeOptions Options = new(
        pool: PinnedBlockPool.Sockets,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: PauseThreshold,
        resumeWriterThreshold: PauseThreshold / 2,
        minimumSegmentSize: MinimumSegmentSize,
        useSynchronizationContext: false);

    private static long _nextId;

    private readonly Socket _socket;
    private readonly Pipe _received = new(Options);
    private readonly Pipe _toSend = new(Options);
    private readonly CancellationTokenSource _closed = new();
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private int _disposed;

    private SocketConnection(Socket socket)
    {
        _socket = socket;
        Transport = new DuplexPipe(_received.Reader, _toSend.Writer);
        ConnectionId = Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
    }

    public override IDuplexPipe Transport { get; set; }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

    /// <summary>Fired when the connection is reset by the peer, aborted, or disposed; not on a half-close.</summary>
    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    /// <summary>Wraps a connected socket and starts moving bytes.</summary>
    public static SocketConnection Start(Socket socket)
    {
        var connection = new SocketConnection(socket);
        connection._receiving = connection.ReceiveLoopAsync();
        connection._sending = connection.SendLoopAsync();
        return connection;
    }

    /// <summary>Closes at once with a reset: for drain deadlines and broken exchanges.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        _received.Writer.Complete(abortReason);
        _toSend.Reader.Complete(abortReason);
        FireClosed();
    }

    /// <summary>
    /// Finishes gracefully: what was written is still sent, then a FIN, then the socket closes.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _received.Reader.CompleteAsync();
        await _toSend.Writer.CompleteAsync();
        await _sending;
        // Nobody reads any more; stop the receive loop by closing the socket.
        _socket.Dispose();
        await _receiving;
        FireClosed();
        _closed.Dispose();
        await base.DisposeAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _received.Writer;
        var receive = new SocketOperation();
        Exception? error = null;
        try
        {
            while (true)
            {
                // Wait for data before taking a buffer, so an idle connection holds none.
                var ready = await receive.ReceiveAsync(_socket, Memory<byte>.Empty);
                if (!ready.Succeeded)
                {
                    error = ReceiveFailed(ready.Error);
                    break;
                }

                var memory = writer.GetMemory(MinimumSegmentSize);
                var received = await receive.ReceiveAsync(_socket, memory);
                if (!received.Succeeded)
                {
                    error = ReceiveFailed(received.Error);
                    break;
                }

                if (received.BytesTransferred == 0)
                {
                    // FIN: the peer finished sending. Its reading side may still be open.
                    break;
                }

                writer.Advance(received.BytesTransferred);
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (ObjectDisposedException e)
        {
            error = new ConnectionAbortedException("The connection was closed locally.", e);
        }
        catch (InvalidOperationException)
        {
            // The reader was completed (disposal or abort) while a receive was pending.
        }
        finally
        {
            receive.Dispose();
            await writer.CompleteAsync(error);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _toSend.Reader;
        var send = new SocketOperation();
        Exception? error = null;
        try
        {
            while (error is null)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var sent = await send.SendAsync(_socket, segment);
                    if (!sent.Succeeded)
                    {
                        error = SendFailed(sent.Error);
                        break;
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (error is null && (result.IsCompleted || result.IsCanceled))
                {
                    // Everything the other side of the proxy sent has gone out: pass its FIN on.
                    _socket.Shutdown(SocketShutdown.Send);
                    break;
                }
            }
        }
        catch (SocketException e)
        {
            // Shutdown on a socket the peer has reset.
            error = new ConnectionResetException(e.Message, e);
            FireClosed();
        }
        catch (ObjectDisposedException e)
        {
            error = new ConnectionAbortedException("The connection was closed locally.", e);
        }
        catch (InvalidOperationException)
        {
            // The writer side was completed by an abort while a read was pending.
        }
        finally
        {
            send.Dispose();
            await reader.CompleteAsync(error);
        }
    }

    /// <summary>
    /// The error a failed receive ends the input with: aborted when this side closed the socket,
    /// reset otherwise. Either way the connection is gone, and its users are told.
    /// </summary>
    private Exception ReceiveFailed(SocketError error)
    {
        FireClosed();
        var cause = new SocketException((int)error);
        return error is SocketError.OperationAborted or SocketError.Interrupted
            ? new ConnectionAbortedException("The connection was closed locally.", cause)
            : new ConnectionResetException(cause.Message, cause);
    }

    /// <summary>The error a failed send ends the output with: whatever stopped it, the peer gets no more.</summary>
    private ConnectionResetException SendFailed(SocketError error)
    {
        FireClosed();
        var cause = new SocketException((int)error);
        return new ConnectionResetException(cause.Message, cause);
    }

    private void FireClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
