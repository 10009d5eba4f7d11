using System.Buffers;
using System.IO.Pipelines;

namespace Trellis.Proxy.Tcp;

/// <summary>
/// Moves bytes between two connections' pipes, both ways, until each side has finished
/// sending: the opaque TCP path, and HTTP upgrades once the 101 has been passed on.
/// Buffers pass from reader to writer without copying into an intermediate array; bytes are
/// counted by the metered pipes underneath, not here.
/// </summary>
public static class PipeCopy
{
    /// <summary>
    /// Copies client→upstream and upstream→client until both directions end. A half-close
    /// in one direction is passed on and the other direction keeps flowing; an error in
    /// either direction tears both down.
    /// </summary>
    public static async Task BidirectionalAsync(
        IDuplexPipe client, IDuplexPipe upstream, CancellationToken cancellationToken)
    {
        var toUpstream = OneWayAsync(client.Input, upstream.Output, cancellationToken);
        var toClient = OneWayAsync(upstream.Input, client.Output, cancellationToken);
        var first = await Task.WhenAny(toUpstream, toClient);
        if (first.IsFaulted)
        {
            // One side broke: stop the other direction instead of waiting on it forever.
            client.Input.CancelPendingRead();
            upstream.Input.CancelPendingRead();
        }

        await Task.WhenAll(toUpstream, toClient);
    }

    /// <summary>Copies until the reader completes, then completes the writer (a FIN).</summary>
    public static async Task OneWayAsync(PipeReader reader, PipeWriter writer, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                // TryRead first: bytes left unconsumed by a reader before us (detection that
                // timed out via a cancelled read) are there but do not wake ReadAsync.
                if (!reader.TryRead(out var result))
                {
                    result = await reader.ReadAsync(cancellationToken);
                }
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    foreach (var segment in buffer)
                    {
                        writer.Write(segment.Span);
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    await writer.FlushAsync(cancellationToken);
                    break;
                }

                var flush = await writer.FlushAsync(cancellationToken);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            error = e;
            throw;
        }
        finally
        {
            await writer.CompleteAsync(error);
        }
    }
}
