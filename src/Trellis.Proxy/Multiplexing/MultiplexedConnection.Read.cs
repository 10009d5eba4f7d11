using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Multiplexing;

// === The read loop: frames from the peer ===
internal sealed partial class MultiplexedConnection
{
    private async Task RunAsync()
    {
        Exception? error = null;
        try
        {
            if (!_isClient && !await Http2FrameReader.ReadClientPrefaceAsync(_input))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the client preface is missing");
            }

            while (true)
            {
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                try
                {
                    while (Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out var header, out var payload))
                    {
                        await OnFrameAsync(header, payload);
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }

                SendQueuedControl();
                if (result.IsCompleted || result.IsCanceled || IsFinished())
                {
                    break;
                }
            }
        }
        catch (Http2ConnectionException e)
        {
            lock (_lock)
            {
                _control.Add(new ControlFrame(ControlKind.GoAway, _lastPeerStreamId, (long)e.Code));
            }

            SendQueuedControl();
            error = e;
        }
        catch (Exception e)
        {
            error = e;
        }

        await EndAsync(error);
    }

    private ValueTask OnFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        switch (header.Type)
        {
            case Http2FrameType.Data:
                return OnDataAsync(header, payload);
            case Http2FrameType.Headers:
                OnHeaders(header, payload);
                break;
            case Http2FrameType.RstStream:
                OnReset(header, payload);
                break;
            case Http2FrameType.Settings:
                OnSettings(header, payload);
                break;
            case Http2FrameType.Ping:
                OnPing(header, payload);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(payload);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(header, payload);
                break;
            case Http2FrameType.PushPromise:
            case Http2FrameType.Continuation:
                // Neither proxy pushes, and tunnel header blocks are a few bytes: one frame each.
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"unexpected {header.Type} frame");
        }

        // PRIORITY and unknown frame types are ignored (RFC 9113 sections 5.5, 6.3).
        return default;
    }

    private async ValueTask OnDataAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var endStream = header.HasFlag(Http2FrameFlags.EndStream);
        MultiplexedStream? stream;
        var removed = false;
        lock (_lock)
        {
            _creditOwed += header.Length;
            if (_creditOwed >= ConnectionWindow / 2)
            {
                _control.Add(new ControlFrame(ControlKind.WindowUpdate, 0, _creditOwed));
                _creditOwed = 0;
            }

            _streams.TryGetValue(header.StreamId, out stream);
            if (stream is null || stream.ReceiveClosed)
            {
                // A stream reset or ended here while the peer was still sending: drop it.
                if (stream is null && header.StreamId > HighestStreamId())
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on a stream that was never opened");
                }

                return;
            }

            stream.Received += header.Length;
            if (stream.Received > StreamWindow + stream.CreditGranted)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "a stream sent past its window");
            }

            if (endStream)
            {
                stream.ReceiveClosed = true;
                removed = stream.SendClosed && _streams.Remove(stream.Id);
            }
        }

        await stream.DeliverAsync(Http2FrameReader.DataPayload(header, payload), endStream);
        if (removed)
        {
            OnStreamRemoved();
        }
    }

    private void OnHeaders(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (!header.HasFlag(Http2FrameFlags.EndHeaders))
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "a tunnel header block spans frames");
        }

        _headers.Clear();
        try
        {
            _decoder.Decode(Http2FrameReader.HeaderBlockFragment(header, payload), _headers);
        }
        catch (HpackException e)
        {
            throw new Http2ConnectionException(Http2ErrorCode.CompressionError, e.Message);
        }

        if (_isClient)
        {
            OnAccepted(header.StreamId);
            return;
        }

        OnStreamOpened(header.StreamId, header.HasFlag(Http2FrameFlags.EndStream));
    }

    /// <summary>The server's answer to a stream this side opened: 200, or anything else to refuse it.</summary>
    private void OnAccepted(int streamId)
    {
        MultiplexedStream? stream;
        lock (_lock)
        {
            _streams.TryGetValue(streamId, out stream);
        }

        if (stream is not null && !(_headers.Count > 0 && _headers[0] is { Name: ":status", Value: "200" }))
        {
            Reset(stream, Http2ErrorCode.Cancel, fromReadLoop: true);
        }
    }

    private void OnStreamOpened(int streamId, bool endStream)
    {
        if (streamId % 2 == 0 || streamId <= _lastPeerStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "a stream id that is not new");
        }

        var isConnect = _headers.Exists(static field => field is { Name: ":method", Value: "CONNECT" });
        MultiplexedStream? stream = null;
        lock (_lock)
        {
            _lastPeerStreamId = streamId;
            if (!isConnect || endStream)
            {
                _control.Add(new ControlFrame(ControlKind.Reset, streamId, (long)Http2ErrorCode.ProtocolError));
            }
            else if (_goingAway || _streams.Count >= MaxConcurrentStreams)
            {
                _control.Add(new ControlFrame(ControlKind.Reset, streamId, (long)Http2ErrorCode.RefusedStream));
            }
            else
            {
                stream = new MultiplexedStream(this, streamId, _peerSettings.InitialWindowSize);
                _streams.Add(streamId, stream);
                _control.Add(new ControlFrame(ControlKind.Accept, streamId, 0));
                Interlocked.Increment(ref _handlers);
            }
        }

        if (stream is not null)
        {
            _ = HandleAsync(stream);
        }
    }

    private async Task HandleAsync(MultiplexedStream stream)
    {
        try
        {
            await _accept!(stream);
        }
        catch (Exception)
        {
            // A handler's failure costs its stream only.
        }
        finally
        {
            await stream.DisposeAsync();
            HandlerDone();
        }
    }

    private void OnReset(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var code = Http2FrameReader.ReadRstStream(payload);
        MultiplexedStream? stream;
        lock (_lock)
        {
            if (!_streams.Remove(header.StreamId, out stream))
            {
                return;
            }

            stream.SendClosed = true;
            stream.ReceiveClosed = true;
        }

        stream.OnReset(new ConnectionResetException($"the tunnel was reset by the peer ({code})"), fromReadLoop: true);
        OnStreamRemoved();
    }

    private void OnSettings(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            return;
        }

        var settings = _peerSettings;
        Http2FrameReader.ReadSettings(payload, ref settings);
        List<MultiplexedStream>? credited = null;
        lock (_lock)
        {
            var delta = settings.InitialWindowSize - _peerSettings.InitialWindowSize;
            _peerSettings = settings;
            if (delta != 0)
            {
                credited = [.. _streams.Values];
                foreach (var stream in credited)
                {
                    stream.SendWindow += delta;
                }
            }

            _control.Add(new ControlFrame(ControlKind.SettingsAck, 0, 0));
        }

        credited?.ForEach(static stream => stream.OnCredit());
    }

    private void OnPing(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var opaque = Http2FrameReader.ReadPing(payload);
        if (header.HasFlag(Http2FrameFlags.Ack))
        {
            return;
        }

        lock (_lock)
        {
            _control.Add(new ControlFrame(ControlKind.PingAck, 0, (long)opaque));
        }
    }

    private void OnGoAway(ReadOnlySequence<byte> payload)
    {
        var (lastStreamId, _) = Http2FrameReader.ReadGoAway(payload);
        List<MultiplexedStream> refused = [];
        lock (_lock)
        {
            _goingAway = true;
            foreach (var stream in _streams.Values)
            {
                if (stream.Id > lastStreamId)
                {
                    refused.Add(stream);
                }
            }
        }

        // Streams above the last one the peer processed never reached its application.
        foreach (var stream in refused)
        {
            Reset(stream, Http2ErrorCode.RefusedStream, fromReadLoop: true);
        }

        EndIfIdleAndGoingAway();
    }

    private void OnWindowUpdate(Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var increment = Http2FrameReader.ReadWindowIncrement(payload);
        MultiplexedStream? stream = null;
        List<MultiplexedStream>? waiting = null;
        lock (_lock)
        {
            if (header.StreamId == 0)
            {
                _sendWindow += increment;
                if (_sendWindow > int.MaxValue)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "the connection window overflowed");
                }

                waiting = [.. _streams.Values];
            }
            else if (_streams.TryGetValue(header.StreamId, out stream))
            {
                stream.SendWindow += increment;
            }
        }

        stream?.OnCredit();
        waiting?.ForEach(static waiter => waiter.OnCredit());
    }

    /// <summary>The highest stream id either side has used, to tell a closed stream from one never opened.</summary>
    private int HighestStreamId() => _isClient ? _nextStreamId - 2 : _lastPeerStreamId;

    private bool IsFinished()
    {
        lock (_lock)
        {
            return _goingAway && _streams.Count == 0;
        }
    }

    private void OnStreamRemoved()
    {
        if (_idleTimer is not null && StreamCount == 0)
        {
            _idleTimer.Change(_idleTimeout, Timeout.InfiniteTimeSpan);
        }

        EndIfIdleAndGoingAway();
    }

    /// <summary>A connection going away ends once its last stream has.</summary>
    private void EndIfIdleAndGoingAway()
    {
        if (IsFinished())
        {
            Abort();
        }
    }

    /// <summary>Fails every stream left, sends what is queued, and closes the transport.</summary>
    private async Task EndAsync(Exception? error)
    {
        List<MultiplexedStream> open;
        lock (_lock)
        {
            _ended = true;
            open = [.. _streams.Values];
            _streams.Clear();
            foreach (var stream in open)
            {
                stream.SendClosed = true;
                stream.ReceiveClosed = true;
            }
        }

        var lost = error is null ? new ConnectionAbortedException("the mesh connection closed") : new ConnectionAbortedException("the mesh connection closed", error);
        foreach (var stream in open)
        {
            stream.OnReset(lost, fromReadLoop: true);
        }

        // Whatever is queued (a GOAWAY) goes out before the close, unless the output already broke.
        await _writeLock.WaitAsync();
        try
        {
            WriteControl();
            if (!_outputFailed)
            {
                await _output.FlushAsync();
            }
        }
        catch (Exception)
        {
            // Closing anyway.
        }

        await _output.CompleteAsync();
        await _input.CompleteAsync();
        // Writers waiting for the lock find the connection ended and give up.
        _writeLock.Release();
        _idleTimer?.Dispose();
        HandlerDone();
        await _handlersDone.Task;
    }

    private void HandlerDone()
    {
        if (Interlocked.Decrement(ref _handlers) == 0)
        {
            _handlersDone.TrySetResult();
        }
    }
}
