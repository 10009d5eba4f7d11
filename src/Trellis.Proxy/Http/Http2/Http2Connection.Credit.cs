using System.Buffers;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Http.Http2;

// === Receiving: credit back to this connection's peer, and handing DATA to the other side ===
internal abstract partial class Http2Connection
{
    /// <summary>
    /// Counts <paramref name="bytes"/> received on this connection (and on <paramref name="stream"/>)
    /// as handed on, and returns them to the peer as WINDOW_UPDATE once half a window has built
    /// up, or at once when <paramref name="force"/> (a pending buffer just drained, so the peer
    /// may be stalled on exactly these bytes).
    /// </summary>
    public ValueTask CreditAsync(Http2Stream? stream, int bytes, bool force, Http2FlushBatch? batch)
    {
        var connectionOwed = bytes > 0 ? Interlocked.Add(ref _creditOwed, bytes) : Volatile.Read(ref _creditOwed);
        var streamOwed = 0;
        if (stream is not null && !stream.RemoteEnded)
        {
            streamOwed = bytes > 0 ? Interlocked.Add(ref stream.CreditOwed, bytes) : Volatile.Read(ref stream.CreditOwed);
        }

        var due = connectionOwed >= ConnectionWindow / 2 || streamOwed >= StreamWindow / 2 || (force && (connectionOwed > 0 || streamOwed > 0));
        return due ? WriteCreditAsync(stream, batch) : default;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask WriteCreditAsync(Http2Stream? stream, Http2FlushBatch? batch)
    {
        await EnterAsync();
        try
        {
            if (_outputClosed)
            {
                return;
            }

            var connection = Interlocked.Exchange(ref _creditOwed, 0);
            if (connection > 0)
            {
                // The limit grows before the peer can learn of it, so the read loop never sees the peer overshoot.
                Interlocked.Add(ref _receiveLimit, connection);
                Http2FrameWriter.WriteWindowUpdate(_output, 0, connection);
            }

            if (stream is not null && !stream.RemoteEnded)
            {
                var owed = Interlocked.Exchange(ref stream.CreditOwed, 0);
                if (owed > 0)
                {
                    Interlocked.Add(ref stream.ReceiveLimit, owed);
                    Http2FrameWriter.WriteWindowUpdate(_output, stream.Id, owed);
                }
            }
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>
    /// Hands DATA to <paramref name="sink"/>, the other side of the exchange. An upstream stream
    /// that is not open yet (resolve or dial still under way) keeps it pending, under the
    /// stream's own lock, until <see cref="OpenStreamAsync"/> binds it and sends it on.
    /// </summary>
    protected static ValueTask<int> ForwardDataAsync(Http2Stream sink, ReadOnlySequence<byte> data, bool endStream, Http2FlushBatch? batch)
    {
        var connection = sink.Connection;
        if (connection is null)
        {
            lock (sink)
            {
                connection = sink.Connection;
                if (connection is null)
                {
                    if (sink.SendClosed)
                    {
                        return new ValueTask<int>((int)data.Length);
                    }

                    sink.Pending.Append(data);
                    sink.PendingEnd |= endStream;
                    return new ValueTask<int>(0);
                }
            }
        }

        return connection.SendDataAsync(sink, data, endStream, batch);
    }

    /// <summary>Trailers for <paramref name="sink"/>; like <see cref="ForwardDataAsync"/>, kept until an unopened stream opens.</summary>
    public static ValueTask ForwardTrailersAsync(Http2Stream sink, List<Hpack.HeaderField> trailers, Http2FlushBatch? batch)
    {
        var connection = sink.Connection;
        if (connection is null)
        {
            lock (sink)
            {
                connection = sink.Connection;
                if (connection is null)
                {
                    if (!sink.SendClosed)
                    {
                        sink.PendingTrailers = [.. trailers];
                    }

                    return default;
                }
            }
        }

        return connection.SendHeadersAsync(sink, trailers, endStream: true, final: false, batch);
    }
}
