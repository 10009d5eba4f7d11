using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Multiplexing;

/// <summary>
/// One mTLS connection between two meshed proxies carrying many byte streams: each stream is an
/// HTTP/2 CONNECT tunnel (RFC 9113 section 8.5) holding one HTTP/1 connection the client-side
/// proxy would otherwise have opened as its own TLS connection. The HTTP/1 path runs unchanged
/// at both ends; what changes is the hop between them: one TLS session, one socket and one read
/// loop per peer, so a read takes in the records of several requests at once and the receiving
/// proxy wakes once for them (measured in docs/performance.md, "HTTP/2 between the proxies:
/// measured, then built as tunnels").
/// </summary>
/// <remarks>
/// The read loop never waits for the write lock or for a flush: control frames it must send
/// (acknowledgements, credit, stream acceptance, resets) are queued and written by whoever holds
/// the lock, so two proxies whose sends are both backed up still read each other's frames, and
/// stream input pipes never pause it (each stream's window bounds what they hold).
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The write lock's SemaphoreSlim is never waited on synchronously, so it creates no wait handle to dispose.")]
internal sealed partial class MultiplexedConnection
{
    /// <summary>What one stream may hold unread at the receiver: its window.</summary>
    public const int StreamWindow = 256 * 1024;

    /// <summary>Streams one connection carries at once; the client-side proxy opens another connection past it.</summary>
    public const int MaxConcurrentStreams = 256;

    private const int MaxFrameSize = Http2FrameWriter.DefaultMaxFrameSize;

    /// <summary>
    /// The connection window this side advertises. Credit goes back as DATA arrives (the stream
    /// windows bound memory), in updates of at least half of it so small exchanges send none.
    /// </summary>
    private const int ConnectionWindow = 16 * 1024 * 1024;

    private static readonly byte[] AcceptedBlock = EncodeBlock([new HeaderField(":status", "200")]);

    private readonly ConnectionContext _transport;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly bool _isClient;
    private readonly Func<MultiplexedStream, Task>? _accept;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Guards the stream table, the send windows, the queued control frames and the closing state.
    private readonly Lock _lock = new();
    private readonly Dictionary<int, MultiplexedStream> _streams = [];
    private readonly List<ControlFrame> _control = [];
    private readonly HpackDecoder _decoder = new(4096, 16 * 1024);
    private readonly List<HeaderField> _headers = [];
    private readonly TaskCompletionSource _handlersDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Http2PeerSettings _peerSettings = Http2PeerSettings.Default;
    private long _sendWindow = 65535;
    private int _creditOwed;
    private int _nextStreamId = 1;
    private int _lastPeerStreamId;
    private int _handlers = 1;
    private bool _goingAway;
    private bool _ended;
    private volatile bool _outputFailed;

    // The client side closes a connection left without tunnels this long.
    private ITimer? _idleTimer;
    private TimeSpan _idleTimeout;

    private MultiplexedConnection(ConnectionContext transport, bool isClient, Func<MultiplexedStream, Task>? accept)
    {
        _transport = transport;
        _input = transport.Transport.Input;
        _output = transport.Transport.Output;
        _isClient = isClient;
        _accept = accept;
    }

    /// <summary>Completes when the connection has ended and, on the server side, every stream's handler has returned.</summary>
    public Task Running { get; private set; } = Task.CompletedTask;

    /// <summary>The peer's address, for the streams' endpoints.</summary>
    public ConnectionContext Transport => _transport;

    /// <summary>True while new streams can be opened on it.</summary>
    public bool Accepting
    {
        get
        {
            lock (_lock)
            {
                return !_ended && !_goingAway && HasRoomForStream();
            }
        }
    }

    public int StreamCount
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Under the lock: fewer streams open than either side allows.</summary>
    private bool HasRoomForStream() => _streams.Count < Math.Min(_peerSettings.MaxConcurrentStreams, MaxConcurrentStreams);

    /// <summary>
    /// The client side: writes the preface and starts reading. The caller opens streams; once
    /// none is left for <paramref name="idleTimeout"/> the connection goes away.
    /// </summary>
    public static MultiplexedConnection StartClient(ConnectionContext transport, TimeProvider time, TimeSpan idleTimeout)
    {
        var connection = new MultiplexedConnection(transport, isClient: true, accept: null) { _idleTimeout = idleTimeout };
        connection._idleTimer = time.CreateTimer(static state => ((MultiplexedConnection)state!).CloseIfIdle(), connection, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        connection.Start();
        return connection;
    }

    private void CloseIfIdle()
    {
        if (StreamCount == 0)
        {
            GoAway();
        }
    }

    /// <summary>The server side: each stream the peer opens is handed to <paramref name="accept"/>.</summary>
    public static MultiplexedConnection StartServer(ConnectionContext transport, Func<MultiplexedStream, Task> accept)
    {
        var connection = new MultiplexedConnection(transport, isClient: false, accept);
        connection.Start();
        return connection;
    }

    private void Start()
    {
        lock (_lock)
        {
            if (_isClient)
            {
                _control.Add(new ControlFrame(ControlKind.Preface, 0, 0));
            }

            _control.Add(new ControlFrame(ControlKind.Settings, 0, 0));
        }

        SendQueuedControl();
        Running = RunAsync();
    }

    /// <summary>
    /// Opens a stream (client side). Null when this connection takes no more streams: it is
    /// going away, ended, or at the peer's limit.
    /// </summary>
    public async ValueTask<MultiplexedStream?> OpenStreamAsync(string authority)
    {
        await _writeLock.WaitAsync();
        MultiplexedStream stream;
        lock (_lock)
        {
            if (_ended || _outputFailed || _goingAway || !HasRoomForStream() || _nextStreamId > int.MaxValue - 2)
            {
                _writeLock.Release();
                return null;
            }

            stream = new MultiplexedStream(this, _nextStreamId, _peerSettings.InitialWindowSize);
            _nextStreamId += 2;
            _streams.Add(stream.Id, stream);
        }

        // The tunnel's bytes may follow at once: the server answers 200 or resets the stream.
        var block = EncodeBlock([new HeaderField(":method", "CONNECT"), new HeaderField(":authority", authority)]);
        // A failed write ends the connection, and the stream with it.
        TryWrite(stream.Id, block, headers: true, endStream: false);
        await ExitWriteLockAsync();
        return stream;
    }

    /// <summary>Asks the peer to open no more streams; the connection ends once its streams have.</summary>
    public void GoAway()
    {
        lock (_lock)
        {
            if (_goingAway || _ended)
            {
                return;
            }

            _goingAway = true;
            _control.Add(new ControlFrame(ControlKind.GoAway, _lastPeerStreamId, (long)Http2ErrorCode.NoError));
        }

        SendQueuedControl();
        EndIfIdleAndGoingAway();
    }

    /// <summary>Ends the connection now: every stream fails.</summary>
    public void Abort() => _input.CancelPendingRead();

    // === Sending ===

    /// <summary>
    /// Sends <paramref name="data"/> on a stream within the windows, waiting for credit when
    /// they are closed, then END_STREAM when asked. Completed when the stream takes nothing
    /// more; canceled by <see cref="CancelFlush"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<FlushResult> SendDataAsync(MultiplexedStream stream, ReadOnlyMemory<byte> data, bool endStream)
    {
        while (true)
        {
            int length;
            Task? credit = null;
            lock (_lock)
            {
                if (_ended || stream.SendClosed)
                {
                    return new FlushResult(isCanceled: false, isCompleted: true);
                }

                if (stream.FlushCanceled)
                {
                    stream.FlushCanceled = false;
                    return new FlushResult(isCanceled: true, isCompleted: false);
                }

                length = (int)Math.Min(data.Length, Math.Min(stream.SendWindow, _sendWindow));
                if (length > 0)
                {
                    stream.SendWindow -= length;
                    _sendWindow -= length;
                }
                else if (!data.IsEmpty)
                {
                    credit = stream.WaitForCredit();
                }
            }

            if (credit is not null)
            {
                await credit;
                continue;
            }

            var last = length == data.Length;
            await _writeLock.WaitAsync();
            lock (_lock)
            {
                if (_ended || stream.SendClosed)
                {
                    _writeLock.Release();
                    return new FlushResult(isCanceled: false, isCompleted: true);
                }

                if (last && endStream)
                {
                    stream.SendClosed = true;
                }
            }

            var written = TryWrite(stream.Id, data[..length], headers: false, last && endStream);
            await ExitWriteLockAsync();
            if (!written || _outputFailed)
            {
                // The connection broke under this write or another: nothing more goes out.
                return new FlushResult(isCanceled: false, isCompleted: true);
            }

            if (last)
            {
                if (endStream)
                {
                    OnSendEnded(stream);
                }

                return default;
            }

            data = data[length..];
        }
    }

    /// <summary>A send of <paramref name="stream"/> waiting for credit returns canceled (the writer's CancelPendingFlush).</summary>
    public void CancelFlush(MultiplexedStream stream)
    {
        lock (_lock)
        {
            stream.FlushCanceled = true;
        }

        stream.OnCredit();
    }

    /// <summary>Resets a stream (an aborted or disposed tunnel, or one the peer refused); nothing more goes either way on it.</summary>
    public void Reset(MultiplexedStream stream, Http2ErrorCode code, bool fromReadLoop)
    {
        lock (_lock)
        {
            if (stream.SendClosed && stream.ReceiveClosed)
            {
                return;
            }

            stream.SendClosed = true;
            stream.ReceiveClosed = true;
            _streams.Remove(stream.Id);
            if (!_ended)
            {
                _control.Add(new ControlFrame(ControlKind.Reset, stream.Id, (long)code));
            }
        }

        stream.OnReset(new ConnectionAbortedException("the tunnel was reset"), fromReadLoop);
        SendQueuedControl();
        OnStreamRemoved();
    }

    /// <summary>The reader consumed <paramref name="bytes"/> of a stream: credit them back to the peer, half a window at a time.</summary>
    public void Consumed(MultiplexedStream stream, int bytes)
    {
        lock (_lock)
        {
            stream.CreditOwed += bytes;
            if (stream.CreditOwed < StreamWindow / 2 || _ended || stream.ReceiveClosed)
            {
                return;
            }

            _control.Add(new ControlFrame(ControlKind.WindowUpdate, stream.Id, stream.CreditOwed));
            stream.CreditGranted += stream.CreditOwed;
            stream.CreditOwed = 0;
        }

        SendQueuedControl();
    }

    private void OnSendEnded(MultiplexedStream stream)
    {
        bool removed;
        lock (_lock)
        {
            removed = stream.ReceiveClosed && _streams.Remove(stream.Id);
        }

        if (removed)
        {
            OnStreamRemoved();
        }
    }

    /// <summary>
    /// Writes queued control frames when the write lock is free; when it is not, its holder
    /// writes them before releasing it. Never waits.
    /// </summary>
    private void SendQueuedControl()
    {
        lock (_lock)
        {
            if (_control.Count == 0)
            {
                return;
            }
        }

        if (_writeLock.Wait(0))
        {
            _ = ExitWriteLockAsync().AsTask();
        }
    }

    /// <summary>
    /// Writes the queued control frames, flushes, and releases the write lock; then takes it
    /// again for frames queued while it was held.
    /// </summary>
    private async ValueTask ExitWriteLockAsync()
    {
        while (true)
        {
            try
            {
                WriteControl();
                if (!_outputFailed)
                {
                    var flush = await _output.FlushAsync();
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        Abort();
                    }
                }
            }
            catch (Exception)
            {
                // The connection broke under the write: nothing more is written, and the read
                // loop is told to end it.
                _outputFailed = true;
                Abort();
            }

            _writeLock.Release();
            lock (_lock)
            {
                if (_control.Count == 0)
                {
                    return;
                }
            }

            if (!_writeLock.Wait(0))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Writes a tunnel's HEADERS or DATA under the write lock; false (and the connection ends)
    /// when the transport has completed its pipe.
    /// </summary>
    private bool TryWrite(int streamId, ReadOnlyMemory<byte> payload, bool headers, bool endStream)
    {
        if (_outputFailed)
        {
            return false;
        }

        try
        {
            if (headers)
            {
                Http2FrameWriter.WriteHeaders(_output, streamId, payload.Span, endStream, _peerSettings.MaxFrameSize);
            }
            else
            {
                Http2FrameWriter.WriteData(_output, streamId, new ReadOnlySequence<byte>(payload), endStream, _peerSettings.MaxFrameSize);
            }

            return true;
        }
        catch (InvalidOperationException)
        {
            _outputFailed = true;
            Abort();
            return false;
        }
    }

    /// <summary>Writes and clears the queued control frames; once the output has failed it only clears them.</summary>
    private void WriteControl()
    {
        lock (_lock)
        {
            try
            {
                if (!_outputFailed)
                {
                    WriteControlFrames();
                }
            }
            finally
            {
                _control.Clear();
            }
        }
    }

    private void WriteControlFrames()
    {
        foreach (var frame in _control)
        {
            switch (frame.Kind)
            {
                case ControlKind.Preface:
                    _output.Write(Http2FrameWriter.ClientPreface);
                    break;
                case ControlKind.Settings:
                    Http2FrameWriter.WriteSettings(_output, [
                        (Http2SettingId.EnablePush, 0u),
                        (Http2SettingId.MaxConcurrentStreams, (uint)MaxConcurrentStreams),
                        (Http2SettingId.InitialWindowSize, (uint)StreamWindow)]);
                    Http2FrameWriter.WriteWindowUpdate(_output, 0, ConnectionWindow - 65535);
                    break;
                case ControlKind.SettingsAck:
                    Http2FrameWriter.WriteSettingsAck(_output);
                    break;
                case ControlKind.PingAck:
                    Http2FrameWriter.WritePing(_output, ack: true, (ulong)frame.Value);
                    break;
                case ControlKind.WindowUpdate:
                    Http2FrameWriter.WriteWindowUpdate(_output, frame.StreamId, (int)frame.Value);
                    break;
                case ControlKind.Accept:
                    Http2FrameWriter.WriteHeaders(_output, frame.StreamId, AcceptedBlock, endStream: false, _peerSettings.MaxFrameSize);
                    break;
                case ControlKind.Reset:
                    Http2FrameWriter.WriteRstStream(_output, frame.StreamId, (Http2ErrorCode)frame.Value);
                    break;
                case ControlKind.GoAway:
                    Http2FrameWriter.WriteGoAway(_output, frame.StreamId, (Http2ErrorCode)frame.Value);
                    break;
            }
        }
    }

    private static byte[] EncodeBlock(HeaderField[] fields)
    {
        var block = new ArrayBufferWriter<byte>(64);
        HpackEncoder.Encode(fields, block);
        return block.WrittenSpan.ToArray();
    }

    private enum ControlKind
    {
        Preface,
        Settings,
        SettingsAck,
        PingAck,
        WindowUpdate,
        Accept,
        Reset,
        GoAway,
    }

    private readonly record struct ControlFrame(ControlKind Kind, int StreamId, long Value);
}
