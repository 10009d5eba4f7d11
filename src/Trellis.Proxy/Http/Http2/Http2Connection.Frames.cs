using System.Buffers;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Http.Http2;

// === Handling each frame type read from this connection ===
internal abstract partial class Http2Connection
{
    private static void RequireStream(Http2FrameHeader header)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{header.Type} on stream 0");
        }
    }

    private static void RequireConnection(Http2FrameHeader header)
    {
        if (header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{header.Type} on a stream");
        }
    }

    /// <summary>
    /// A stream error: RST_STREAM to the peer, and the exchange learns its stream is gone. On an
    /// idle stream it ends the connection instead: a RST_STREAM there is a connection error for
    /// the peer (RFC 9113 §6.4), and §5.4.1 allows treating any stream error as one.
    /// </summary>
    private async ValueTask OnStreamErrorAsync(int streamId, Http2ErrorCode code, Http2FlushBatch batch)
    {
        var stream = FindStream(streamId);
        if (stream is null)
        {
            if (IsIdle(streamId))
            {
                throw new Http2ConnectionException(code, $"a stream error on idle stream {streamId}");
            }

            await ResetAsync(streamId, code, batch);
            return;
        }

        await stream.Exchange.OnStreamErrorAsync(stream, code, batch);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnHeadersFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        RequireStream(header);
        var fragment = Http2FrameReader.HeaderBlockFragment(header, payload);
        var endStream = header.HasFlag(Http2FrameFlags.EndStream);
        if (header.HasFlag(Http2FrameFlags.EndHeaders))
        {
            await DecodeAsync(header.StreamId, endStream, fragment, batch);
            return;
        }

        _headerBlock ??= new ArrayBufferWriter<byte>(1024);
        _headerBlock.ResetWrittenCount();
        _headerBlockStream = header.StreamId;
        _headerBlockEndStream = endStream;
        AppendHeaderBlock(fragment);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnContinuationAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        if (_headerBlock is null || header.StreamId != _headerBlockStream)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "CONTINUATION without a header block in progress");
        }

        AppendHeaderBlock(payload);
        if (!header.HasFlag(Http2FrameFlags.EndHeaders))
        {
            return;
        }

        var block = _headerBlock;
        _headerBlock = null;
        await DecodeAsync(_headerBlockStream, _headerBlockEndStream, new ReadOnlySequence<byte>(block.WrittenMemory), batch);
    }

    private void AppendHeaderBlock(in ReadOnlySequence<byte> fragment)
    {
        if (_headerBlock!.WrittenCount + fragment.Length > MaxHeaderBlockSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "header block too large");
        }

        foreach (var memory in fragment)
        {
            _headerBlock.Write(memory.Span);
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask DecodeAsync(int streamId, bool endStream, ReadOnlySequence<byte> block, Http2FlushBatch batch)
    {
        // Every block is decoded, even for a stream about to be refused: HPACK state is per connection.
        _headers.Clear();
        _decoder.Decode(block, _headers);
        await OnHeadersAsync(streamId, endStream, _headers, batch);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnDataAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        RequireStream(header);
        var length = header.Length;
        _received += length;
        if (_received > Interlocked.Read(ref _receiveLimit))
        {
            throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
        }

        var stream = FindStream(header.StreamId);
        if (stream is null || stream.RemoteEnded)
        {
            // Received but going nowhere: the connection window still gets it back.
            await CreditAsync(null, length, force: false, batch);
            if (IsIdle(header.StreamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on an idle stream");
            }

            if (stream is not null && !stream.Reset)
            {
                throw new Http2StreamException(header.StreamId, Http2ErrorCode.StreamClosed, "DATA after END_STREAM");
            }

            return;
        }

        if (!stream.HeadersReceived)
        {
            // RFC 9113 §8.1: a response starts with HEADERS (a request always does).
            await CreditAsync(null, length, force: false, batch);
            throw new Http2StreamException(header.StreamId, Http2ErrorCode.ProtocolError, "DATA before HEADERS");
        }

        stream.Received += length;
        if (stream.Received > Interlocked.Read(ref stream.ReceiveLimit))
        {
            await CreditAsync(null, length, force: false, batch);
            throw new Http2StreamException(header.StreamId, Http2ErrorCode.FlowControlError, "DATA beyond the stream window");
        }

        var data = Http2FrameReader.DataPayload(header, payload);
        var endStream = header.HasFlag(Http2FrameFlags.EndStream);
        if (endStream)
        {
            stream.RemoteEnded = true;
        }

        stream.Exchange.Touch();
        var handed = await ForwardDataAsync(stream.Peer, data, endStream, batch);

        // Padding is never forwarded: it is credited back with the bytes that were.
        await CreditAsync(stream, handed + (length - (int)data.Length), force: false, batch);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnResetAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        RequireStream(header);
        var code = Http2FrameReader.ReadRstStream(payload);
        if (IsIdle(header.StreamId))
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream");
        }

        var stream = FindStream(header.StreamId);
        if (stream is null)
        {
            return;
        }

        await stream.Exchange.OnResetReceivedAsync(stream, code, batch);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnPingAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        RequireConnection(header);
        var opaque = Http2FrameReader.ReadPing(payload);
        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            await OnPingAckAsync(opaque);
            return;
        }

        await EnterAsync();
        try
        {
            WritePing(opaque, ack: true);
        }
        finally
        {
            await ExitAsync(batch);
        }
    }

    private async ValueTask OnSettingsAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        RequireConnection(header);
        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            if (header.Length != 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "SETTINGS ACK with a payload");
            }

            return;
        }

        var settings = _peerSettings;
        Http2FrameReader.ReadSettings(payload, ref settings);
        _resumed.Clear();
        await EnterAsync();
        try
        {
            var delta = (long)settings.InitialWindowSize - _peerSettings.InitialWindowSize;
            _peerSettings = settings;
            if (delta != 0)
            {
                // RFC 9113 §6.9.2: a new initial window size moves every open stream's window by the difference.
                foreach (var stream in SnapshotStreams())
                {
                    stream.SendWindow += delta;
                    if (stream.SendWindow > Http2FrameWriter.MaxWindowSize)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window");
                    }

                    if (delta > 0 && stream.HasPendingSend)
                    {
                        _resumed.Add((stream, SendPending(stream)));
                    }
                }
            }

            if (!_outputClosed)
            {
                Http2FrameWriter.WriteSettingsAck(_output);
            }
        }
        finally
        {
            await ExitAsync(batch);
        }

        OnSettingsApplied();
        await CreditResumedAsync(batch);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask OnWindowUpdateAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        var increment = Http2FrameReader.ReadWindowIncrement(payload);
        if (increment == 0)
        {
            if (header.StreamId == 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE of 0");
            }

            throw new Http2StreamException(header.StreamId, Http2ErrorCode.ProtocolError, "WINDOW_UPDATE of 0");
        }

        var stream = header.StreamId == 0 ? null : FindStream(header.StreamId);
        if (header.StreamId != 0 && stream is null)
        {
            if (IsIdle(header.StreamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream");
            }

            return;
        }

        _resumed.Clear();
        var overflow = false;
        await EnterAsync();
        try
        {
            if (stream is null)
            {
                _sendWindow += increment;
                overflow = _sendWindow > Http2FrameWriter.MaxWindowSize;

                // Streams stalled on the connection window resume in the order they stalled.
                while (!overflow && _sendWindow > 0 && _waiting.TryDequeue(out var waiting))
                {
                    waiting.WaitingForConnectionWindow = false;
                    if (waiting.HasPendingSend)
                    {
                        _resumed.Add((waiting, SendPending(waiting)));
                    }
                }
            }
            else
            {
                stream.SendWindow += increment;
                overflow = stream.SendWindow > Http2FrameWriter.MaxWindowSize;
                if (!overflow && stream.HasPendingSend)
                {
                    _resumed.Add((stream, SendPending(stream)));
                }
            }
        }
        finally
        {
            await ExitAsync(batch);
        }

        if (overflow)
        {
            if (stream is null)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "connection window above 2^31-1");
            }

            throw new Http2StreamException(header.StreamId, Http2ErrorCode.FlowControlError, "stream window above 2^31-1");
        }

        await CreditResumedAsync(batch);
    }

    /// <summary>Bytes that left pending buffers go back to their sources as credit, at once.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask CreditResumedAsync(Http2FlushBatch batch)
    {
        for (var i = 0; i < _resumed.Count; i++)
        {
            var (stream, bytes) = _resumed[i];
            var source = stream.Peer;
            if (source.Connection is { } connection)
            {
                await connection.CreditAsync(source, bytes, force: true, batch);
            }
        }

        _resumed.Clear();
    }
}
