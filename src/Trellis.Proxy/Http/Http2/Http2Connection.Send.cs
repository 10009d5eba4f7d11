using System.Buffers;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Http.Http2;

// === Sending into this connection: the write lock, flushing, send windows, pending data ===
internal abstract partial class Http2Connection
{
    /// <summary>Takes the write lock; synchronous unless another loop holds it.</summary>
    protected ValueTask EnterAsync() => _writeLock.Wait(0) ? default : new ValueTask(_writeLock.WaitAsync());

    /// <summary>
    /// Releases the write lock. With a batch the bytes written stay buffered until the batch is
    /// flushed (unless there are many); without one they are flushed first.
    /// </summary>
    protected ValueTask ExitAsync(Http2FlushBatch? batch)
    {
        if (batch is not null && (_outputClosed || !_output.CanGetUnflushedBytes || _output.UnflushedBytes < FlushThreshold))
        {
            batch.Add(this);
            _writeLock.Release();
            return default;
        }

        return FlushAndExitAsync();
    }

    /// <summary>Flushes what batched writers left buffered.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask FlushAsync()
    {
        await EnterAsync();
        await FlushAndExitAsync();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask FlushAndExitAsync()
    {
        try
        {
            if (!_outputClosed)
            {
                // Canceled only by Abort: either way nothing more goes out.
                var flush = await _output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    OnOutputFailed();
                }
            }
        }
        catch (Exception)
        {
            OnOutputFailed();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The peer stopped reading: nothing more can be written, so the connection ends.</summary>
    private void OnOutputFailed()
    {
        _outputClosed = true;
        Abort();
    }

    /// <summary>Writes GOAWAY; under the write lock.</summary>
    protected void WriteGoAway(int lastStreamId, Http2ErrorCode code)
    {
        if (!_outputClosed)
        {
            Http2FrameWriter.WriteGoAway(_output, lastStreamId, code);
        }
    }

    /// <summary>Writes a PING (the peer must acknowledge it) or the acknowledgement of one; under the write lock.</summary>
    protected void WritePing(ulong opaque, bool ack)
    {
        if (!_outputClosed)
        {
            Http2FrameWriter.WritePing(_output, ack, opaque);
        }
    }

    /// <summary>Writes the SETTINGS (and window) that open this side of the connection.</summary>
    protected async ValueTask WritePrefaceAsync(bool client, ReadOnlyMemory<(Http2SettingId, uint)> settings)
    {
        await EnterAsync();
        try
        {
            if (client)
            {
                _output.Write(Http2FrameWriter.ClientPreface);
            }

            Http2FrameWriter.WriteSettings(_output, settings.Span);
            Http2FrameWriter.WriteWindowUpdate(_output, 0, ConnectionWindow - 65535);
            Interlocked.Add(ref _receiveLimit, ConnectionWindow - 65535);
        }
        catch (InvalidOperationException)
        {
            // The transport completed its pipe already: the read loop finds it closed.
            _outputClosed = true;
        }

        await FlushAndExitAsync();
    }

    /// <summary>
    /// Forwards DATA into <paramref name="stream"/> (a stream of this connection) within its
    /// windows; what does not fit waits in the stream's pending buffer. Returns the bytes handed
    /// over now (or dropped because the stream or connection is closed), which the caller
    /// credits back to the source.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<int> SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream, Http2FlushBatch? batch)
    {
        var length = (int)data.Length;
        await EnterAsync();
        try
        {
            if (_outputClosed || stream.SendClosed)
            {
                return length;
            }

            if (stream.HasPendingSend)
            {
                stream.Pending.Append(data);
                stream.PendingEnd |= endStream;
                return 0;
            }

            var allowed = (int)Math.Max(0, Math.Min(length, Math.Min(stream.SendWindow, _sendWindow)));
            if (allowed > 0 || (length == 0 && endStream))
            {
                var last = allowed == length && endStream;
                Http2FrameWriter.WriteData(_output, stream.Id, data.Slice(0, allowed), last, _peerSettings.MaxFrameSize);
                stream.SendWindow -= allowed;
                _sendWindow -= allowed;
                if (last)
                {
                    EndSent(stream);
                }
            }

            if (allowed < length)
            {
                stream.Pending.Append(data.Slice(allowed));
                stream.PendingEnd = endStream;
                WaitForWindow(stream);
            }

            return allowed;
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>
    /// Re-encodes and sends a header block on <paramref name="stream"/>. Trailers (END_STREAM)
    /// behind pending DATA wait for it. <paramref name="final"/> marks the stream's own
    /// (non-1xx) headers as sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask SendHeadersAsync(Http2Stream stream, IReadOnlyList<HeaderField> headers, bool endStream, bool final, Http2FlushBatch? batch)
    {
        await EnterAsync();
        try
        {
            if (_outputClosed || stream.SendClosed)
            {
                return;
            }

            if (endStream && stream.HasPendingSend)
            {
                stream.PendingTrailers = [.. headers];
                return;
            }

            WriteHeaderBlock(stream.Id, headers, endStream);
            if (final)
            {
                stream.HeadersSent = true;
            }

            if (endStream)
            {
                EndSent(stream);
            }
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>
    /// Ends the relay's use of <paramref name="stream"/> after a failure: answers with
    /// <paramref name="errorResponse"/> when given and no headers went out yet, otherwise resets
    /// the stream with <paramref name="resetCode"/> unless it already ended both ways. Pending
    /// data is dropped.
    /// </summary>
    /// <returns>Whether the error response was sent, and how many pending bytes were dropped.</returns>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<(bool Answered, long Dropped)> TerminateStreamAsync(
        Http2Stream stream, Http2ErrorCode resetCode, IReadOnlyList<HeaderField>? errorResponse, Http2FlushBatch? batch)
    {
        await EnterAsync();
        try
        {
            var dropped = stream.Pending.Clear();
            stream.PendingTrailers = null;
            stream.PendingEnd = false;
            if (_outputClosed || stream.Reset)
            {
                stream.SendClosed = true;
                return (false, dropped);
            }

            var answered = false;
            if (errorResponse is not null && !stream.HeadersSent && !stream.SendClosed)
            {
                WriteHeaderBlock(stream.Id, errorResponse, endStream: true);
                stream.HeadersSent = true;
                stream.SendClosed = true;
                answered = true;

                // The answer is complete; a client still sending is told to stop.
                resetCode = Http2ErrorCode.NoError;
            }

            if (!(stream.SendClosed && stream.RemoteEnded))
            {
                Http2FrameWriter.WriteRstStream(_output, stream.Id, resetCode);
                stream.Reset = true;
            }

            stream.SendClosed = true;
            return (answered, dropped);
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>RST_STREAM for a stream that has no exchange (refused, malformed, unknown).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    protected async ValueTask ResetAsync(int streamId, Http2ErrorCode code, Http2FlushBatch? batch)
    {
        await EnterAsync();
        try
        {
            if (!_outputClosed)
            {
                Http2FrameWriter.WriteRstStream(_output, streamId, code);
            }
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>Sends a complete response (END_STREAM) on a stream that has no exchange, such as a 405.</summary>
    protected async ValueTask RespondAsync(int streamId, IReadOnlyList<HeaderField> headers, bool resetAfter, Http2FlushBatch? batch)
    {
        await EnterAsync();
        try
        {
            if (!_outputClosed)
            {
                WriteHeaderBlock(streamId, headers, endStream: true);
                if (resetAfter)
                {
                    Http2FrameWriter.WriteRstStream(_output, streamId, Http2ErrorCode.NoError);
                }
            }
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    /// <summary>
    /// Opens <paramref name="stream"/> on this connection with the request's HEADERS, then sends
    /// whatever DATA (and END_STREAM) arrived before it was open. The stream id is taken under
    /// the write lock, so ids go out in increasing order. False when the connection can no
    /// longer take streams (the caller fails the exchange), or the exchange ended meanwhile.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    protected async ValueTask<bool> OpenStreamAsync(Http2Stream stream, IReadOnlyList<HeaderField> headers, Http2FlushBatch? batch)
    {
        int sent;
        await EnterAsync();
        try
        {
            if (_outputClosed || _closing || _nextStreamId <= 0)
            {
                return false;
            }

            bool endOnHeaders;
            lock (stream)
            {
                if (stream.SendClosed)
                {
                    // The exchange ended (client reset) while the stream was being opened.
                    return false;
                }

                stream.Id = _nextStreamId;
                // Past 2^31-1 the id wraps negative: the connection can open no more streams.
                _nextStreamId = unchecked(_nextStreamId + 2);
                stream.SendWindow = _peerSettings.InitialWindowSize;
                stream.ReceiveLimit = StreamWindow;
                AddStream(stream);
                endOnHeaders = stream.PendingEnd && stream.Pending.IsEmpty && stream.PendingTrailers is null;
                stream.Connection = this;
            }

            WriteHeaderBlock(stream.Id, headers, endOnHeaders);
            stream.HeadersSent = true;
            if (endOnHeaders)
            {
                EndSent(stream);
                sent = 0;
            }
            else
            {
                sent = SendPending(stream);
            }
        }
        finally
        {
            await ExitAsync(batch);
        }

        if (sent > 0 && stream.Peer.Connection is { } source)
        {
            await source.CreditAsync(stream.Peer, sent, force: true, batch);
        }

        return true;
    }

    /// <summary>Sends as much pending data (then trailers or END_STREAM) as the windows allow. Under the write lock.</summary>
    private int SendPending(Http2Stream stream)
    {
        if (_outputClosed || stream.SendClosed)
        {
            return 0;
        }

        var sent = 0;
        while (!stream.Pending.IsEmpty)
        {
            var allowed = (int)Math.Min(Math.Min(stream.SendWindow, _sendWindow), _peerSettings.MaxFrameSize);
            if (allowed <= 0)
            {
                WaitForWindow(stream);
                return sent;
            }

            var chunk = stream.Pending.Peek(allowed);
            var last = chunk.Length == stream.Pending.Length && stream.PendingEnd && stream.PendingTrailers is null;
            Http2FrameWriter.WriteData(_output, stream.Id, new ReadOnlySequence<byte>(chunk), last, _peerSettings.MaxFrameSize);
            stream.Pending.Consume(chunk.Length);
            stream.SendWindow -= chunk.Length;
            _sendWindow -= chunk.Length;
            sent += chunk.Length;
            if (last)
            {
                EndSent(stream);
                return sent;
            }
        }

        if (stream.PendingTrailers is { } trailers)
        {
            stream.PendingTrailers = null;
            WriteHeaderBlock(stream.Id, trailers, endStream: true);
            EndSent(stream);
        }
        else if (stream.PendingEnd)
        {
            Http2FrameWriter.WriteData(_output, stream.Id, ReadOnlySequence<byte>.Empty, endStream: true, _peerSettings.MaxFrameSize);
            EndSent(stream);
        }

        return sent;
    }

    /// <summary>Queues a stream stalled on the connection window; its own window resumes it by WINDOW_UPDATE.</summary>
    private void WaitForWindow(Http2Stream stream)
    {
        if (_sendWindow <= 0 && !stream.WaitingForConnectionWindow)
        {
            stream.WaitingForConnectionWindow = true;
            _waiting.Enqueue(stream);
        }
    }

    /// <summary>END_STREAM went out on <paramref name="stream"/>. Under the write lock.</summary>
    private void EndSent(Http2Stream stream)
    {
        stream.SendClosed = true;
        stream.PendingEnd = false;
        if (stream.Exchange.OnEndSent(stream) && !stream.RemoteEnded && !stream.Reset)
        {
            // The exchange is complete but the peer is still sending: RFC 9113 §8.1 lets it know to stop.
            Http2FrameWriter.WriteRstStream(_output, stream.Id, Http2ErrorCode.NoError);
            stream.Reset = true;
        }
    }

    private void WriteHeaderBlock(int streamId, IReadOnlyList<HeaderField> headers, bool endStream)
    {
        _encoded.ResetWrittenCount();
        HpackEncoder.Encode(headers, _encoded);
        Http2FrameWriter.WriteHeaders(_output, streamId, _encoded.WrittenSpan, endStream, _peerSettings.MaxFrameSize);
    }
}
