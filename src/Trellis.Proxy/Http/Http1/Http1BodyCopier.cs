using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Streams one message body from a reader to a writer as it arrives, never buffering it whole:
/// bytes pass segment by segment with one flush per read, so backpressure from the receiver
/// reaches the sender. One instance per direction per client connection, reused per message.
/// </summary>
internal sealed class Http1BodyCopier
{
    private readonly Http1ChunkedScanner _chunked = new();
    private readonly int _maxChunkLine;
    private readonly int _maxTrailers;
    private volatile bool _aborted;

    public Http1BodyCopier(int maxChunkLine, int maxTrailers)
    {
        _maxChunkLine = maxChunkLine;
        _maxTrailers = maxTrailers;
    }

    /// <summary>Why the last chunked body was <see cref="Http1BodyResult.Malformed"/>.</summary>
    public Http1ParseError Error { get; private set; }

    /// <summary>Readies the copier for the next exchange.</summary>
    public void Reset()
    {
        _aborted = false;
        Error = Http1ParseError.None;
    }

    /// <summary>
    /// Asks a running copy to stop, from any thread: it returns <see cref="Http1BodyResult.Aborted"/>
    /// whether it is waiting to read (sender idle) or to flush (receiver not reading).
    /// </summary>
    public void Abort(PipeReader source, PipeWriter? destination)
    {
        // With inline pipe schedulers a woken copy runs inside these calls: the flag must be
        // set before the first wake-up.
        _aborted = true;
        destination?.CancelPendingFlush();
        source.CancelPendingRead();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<Http1BodyResult> CopyAsync(PipeReader source, PipeWriter destination, Http1BodyFraming framing, long contentLength)
    {
        _chunked.Reset();
        var remaining = framing == Http1BodyFraming.ContentLength ? contentLength : long.MaxValue;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await source.ReadAsync();
            }
            catch (Exception)
            {
                return Http1BodyResult.SourceEnded;
            }

            var buffer = result.Buffer;
            var take = buffer;
            var done = false;
            switch (framing)
            {
                case Http1BodyFraming.ContentLength:
                    if (buffer.Length >= remaining)
                    {
                        take = buffer.Slice(0, remaining);
                        done = true;
                    }

                    remaining -= take.Length;
                    break;
                case Http1BodyFraming.Chunked:
                    var error = _chunked.Scan(buffer, _maxChunkLine, _maxTrailers, out var consumed);
                    if (error != Http1ParseError.None)
                    {
                        source.AdvanceTo(buffer.Start);
                        Error = error;
                        return Http1BodyResult.Malformed;
                    }

                    take = buffer.Slice(0, consumed);
                    done = _chunked.IsDone;
                    break;
                default:
                    done = result.IsCompleted;
                    break;
            }

            foreach (var segment in take)
            {
                destination.Write(segment.Span);
            }

            source.AdvanceTo(take.End);
            if (!done && (result.IsCompleted || _aborted))
            {
                // Pass on what arrived so far; the exchange is over either way.
                await TryFlushAsync(destination);
                return _aborted ? Http1BodyResult.Aborted : Http1BodyResult.SourceEnded;
            }

            if (!await TryFlushAsync(destination))
            {
                return Http1BodyResult.DestinationGone;
            }

            if (_aborted)
            {
                return Http1BodyResult.Aborted;
            }

            if (done)
            {
                return Http1BodyResult.Completed;
            }
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> TryFlushAsync(PipeWriter destination)
    {
        try
        {
            var flush = await destination.FlushAsync();
            return !flush.IsCompleted;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
