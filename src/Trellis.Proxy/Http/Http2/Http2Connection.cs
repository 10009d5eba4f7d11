using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// What both ends of the relay share: the frame read loop over one connection's pipe, the
/// connection-level frames (SETTINGS, PING, GOAWAY, WINDOW_UPDATE), flow control in both
/// directions, the stream table, and the write lock. Everything runs inline on the read loops:
/// a frame read from one connection is written to the other before the next frame is read.
/// </summary>
/// <remarks>
/// Two read loops write into every connection (its own, for acknowledgements and credit; the
/// other side's, for forwarded frames), so all writes and flushes take the write lock. A lock
/// holder never waits for another lock, only for its own flush, so the loops cannot deadlock.
/// Everything about sending into this connection (its send window, every stream's send window
/// and pending data, the waiting queue, the peer's settings) is guarded by the same lock.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The write lock's SemaphoreSlim never creates a wait handle, so it holds nothing to dispose.")]
internal abstract partial class Http2Connection
{
    /// <summary>The stream window the relay advertises: it bounds the DATA pending per stream.</summary>
    protected const int StreamWindow = 65535;

    /// <summary>The connection window the relay advertises (one WINDOW_UPDATE after SETTINGS).</summary>
    protected const int ConnectionWindow = 1024 * 1024;

    protected const int MaxFrameSize = Http2FrameWriter.DefaultMaxFrameSize;

    protected const int MaxHeaderListSize = 64 * 1024;

    /// <summary>Header blocks (HEADERS plus CONTINUATION) longer than this are refused before decoding.</summary>
    private const int MaxHeaderBlockSize = 2 * MaxHeaderListSize;

    /// <summary>A batch holding more unflushed bytes than this is flushed at once.</summary>
    private const int FlushThreshold = 32 * 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _streamsLock = new();
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly HpackDecoder _decoder = new(4096, MaxHeaderListSize);
    private readonly List<HeaderField> _headers = [];
    private readonly ArrayBufferWriter<byte> _encoded = new(256);
    private readonly Queue<Http2Stream> _waiting = new();
    private readonly List<(Http2Stream Stream, int Bytes)> _resumed = [];

    // Header block being assembled from HEADERS and CONTINUATION frames (read loop only).
    private ArrayBufferWriter<byte>? _headerBlock;
    private int _headerBlockStream;
    private bool _headerBlockEndStream;

    // Receive side: what the peer may still send on the connection.
    private long _received;
    private long _receiveLimit = 65535;
    private int _creditOwed;

    // Send side, under the write lock.
    private Http2PeerSettings _peerSettings = Http2PeerSettings.Default;
    private long _sendWindow = 65535;
    private bool _outputClosed;

    // Ids of the streams this side opens (the upstream role), taken under the write lock.
    private int _nextStreamId = 1;

    private bool _settingsReceived;
    private volatile bool _closing;
    private int _pipesCompleted;
    private Http2ErrorCode? _closeCode;

    protected Http2Connection(Http2RelayContext context, ConnectionContext transport)
    {
        Context = context;
        Transport = transport;
        _input = transport.Transport.Input;
        _output = transport.Transport.Output;
    }

    protected Http2RelayContext Context { get; }

    protected ConnectionContext Transport { get; }

    protected PipeReader Input => _input;

    /// <summary>The peer's settings; read under the write lock (or from the read loop).</summary>
    protected Http2PeerSettings PeerSettings => _peerSettings;

    /// <summary>The stream id GOAWAY names as the last one this side processed.</summary>
    protected abstract int LastProcessedStreamId { get; }

    /// <summary>"client" or "upstream", for logs.</summary>
    protected abstract string Side { get; }

    /// <summary>Streams currently in the table.</summary>
    public int StreamCount
    {
        get
        {
            lock (_streamsLock)
            {
                return _streams.Count;
            }
        }
    }

    public bool IsClosing => _closing;

    /// <summary>The id the next stream this side opens will get; not positive once ids are used up.</summary>
    protected int NextStreamId => Volatile.Read(ref _nextStreamId);

    /// <summary>
    /// Asks the read loop to stop and the connection to close, with a GOAWAY carrying
    /// <paramref name="code"/> unless one was sent already.
    /// </summary>
    public void Close(Http2ErrorCode? code)
    {
        _closeCode ??= code;
        _closing = true;
        _input.CancelPendingRead();
    }

    /// <summary>Drops the transport at once (a drain deadline, a dead peer).</summary>
    public void Abort()
    {
        _closing = true;
        Transport.Abort(new ConnectionAbortedException("HTTP/2 connection aborted"));

        // Not every transport completes its pipes on abort: wake the read loop and any flush
        // stuck on a peer that stopped reading, so the connection winds down either way.
        if (Volatile.Read(ref _pipesCompleted) == 0)
        {
            _input.CancelPendingRead();
            _output.CancelPendingFlush();
        }
    }

    public Http2Stream? FindStream(int id)
    {
        lock (_streamsLock)
        {
            return _streams.GetValueOrDefault(id);
        }
    }

    protected void AddStream(Http2Stream stream)
    {
        lock (_streamsLock)
        {
            _streams.Add(stream.Id, stream);
        }
    }

    /// <summary>Removes a stream the exchange is done with; idempotent.</summary>
    public void RemoveStream(Http2Stream stream)
    {
        bool removed;
        int remaining;
        lock (_streamsLock)
        {
            removed = _streams.Remove(stream.Id);
            remaining = _streams.Count;
        }

        if (removed)
        {
            OnStreamRemoved(stream.Id, remaining);
        }
    }

    protected List<Http2Stream> SnapshotStreams()
    {
        lock (_streamsLock)
        {
            return [.. _streams.Values];
        }
    }

    /// <summary>Stream <paramref name="streamId"/> left the table; <paramref name="remaining"/> are still open.</summary>
    protected abstract void OnStreamRemoved(int streamId, int remaining);

    /// <summary>A complete, decoded header block for <paramref name="streamId"/>.</summary>
    protected abstract ValueTask OnHeadersAsync(int streamId, bool endStream, List<HeaderField> headers, Http2FlushBatch batch);

    /// <summary>True when <paramref name="streamId"/> was never opened on this connection (RFC 9113 §5.1 "idle").</summary>
    protected abstract bool IsIdle(int streamId);

    protected abstract void OnGoAway(int lastStreamId, Http2ErrorCode code);

    protected virtual void OnSettingsApplied()
    {
    }

    /// <summary>The peer acknowledged a PING this side sent.</summary>
    protected virtual ValueTask OnPingAckAsync(ulong opaque) => default;

    /// <summary>The connection is gone: every stream still in the table loses its exchange.</summary>
    protected abstract ValueTask OnStreamLostAsync(Http2Stream stream);

    /// <summary>
    /// Reads and handles frames until the peer closes, a connection error, or <see cref="Close"/>;
    /// then sends the GOAWAY, closes the output and fails the streams left.
    /// </summary>
    protected async Task RunReadLoopAsync()
    {
        var batch = new Http2FlushBatch();
        try
        {
            while (!_closing)
            {
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                try
                {
                    while (!_closing && Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out var header, out var payload))
                    {
                        await HandleFrameAsync(header, payload, batch);
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }

                await batch.FlushAsync();
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Http2ConnectionException e)
        {
            _closeCode = e.Code;
            LogConnectionError(Context.Logger, Side, e.Code, e.Message);
        }
        catch (HpackException e)
        {
            _closeCode = Http2ErrorCode.CompressionError;
            LogConnectionError(Context.Logger, Side, Http2ErrorCode.CompressionError, e.Message);
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The transport went away (reset, aborted, completed under us).
        }
        catch (Exception e)
        {
            // A bug must cost one connection, never the proxy.
            _closeCode = Http2ErrorCode.InternalError;
            LogLoopFailed(Context.Logger, Side, e);
        }

        // What the frames before the failure forwarded still goes out.
        await batch.FlushAsync();
        await ShutdownAsync();
    }

    /// <summary>Sends the pending GOAWAY, closes both pipes and fails the streams left.</summary>
    protected async ValueTask ShutdownAsync()
    {
        _closing = true;
        await EnterAsync();
        try
        {
            if (!_outputClosed)
            {
                if (_closeCode is { } code)
                {
                    Http2FrameWriter.WriteGoAway(_output, LastProcessedStreamId, code);
                }

                _outputClosed = true;
                await _output.CompleteAsync();
            }
        }
        catch (Exception)
        {
            // The peer is gone already; nothing to tell it.
        }
        finally
        {
            _writeLock.Release();
        }

        Volatile.Write(ref _pipesCompleted, 1);
        await _input.CompleteAsync();
        foreach (var stream in SnapshotStreams())
        {
            await OnStreamLostAsync(stream);
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask HandleFrameAsync(Http2FrameHeader header, ReadOnlySequence<byte> payload, Http2FlushBatch batch)
    {
        if (!_settingsReceived)
        {
            // RFC 9113 §3.4: the preface's first frame is SETTINGS.
            if (header.Type != Http2FrameType.Settings || header.HasFlag(Http2FrameFlags.Ack))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the first frame was not SETTINGS");
            }

            _settingsReceived = true;
        }

        if (_headerBlock is not null && header.Type != Http2FrameType.Continuation)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "a header block was interrupted by another frame");
        }

        try
        {
            switch (header.Type)
            {
                case Http2FrameType.Data:
                    await OnDataAsync(header, payload, batch);
                    break;
                case Http2FrameType.Headers:
                    await OnHeadersFrameAsync(header, payload, batch);
                    break;
                case Http2FrameType.Continuation:
                    await OnContinuationAsync(header, payload, batch);
                    break;
                case Http2FrameType.Priority:
                    RequireStream(header);
                    if (header.Length != 5)
                    {
                        // RFC 9113 §6.3 makes this a stream error, but PRIORITY may name an idle
                        // stream, and a RST_STREAM on an idle stream is itself a connection error
                        // for the peer (§6.4): end the connection, as §5.4.1 allows (and nghttp2 does).
                        throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "PRIORITY is 5 bytes");
                    }

                    break;
                case Http2FrameType.RstStream:
                    await OnResetAsync(header, payload, batch);
                    break;
                case Http2FrameType.Settings:
                    await OnSettingsAsync(header, payload, batch);
                    break;
                case Http2FrameType.PushPromise:
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "PUSH_PROMISE is not accepted");
                case Http2FrameType.Ping:
                    await OnPingAsync(header, payload, batch);
                    break;
                case Http2FrameType.GoAway:
                    RequireConnection(header);
                    var (lastStreamId, code) = Http2FrameReader.ReadGoAway(payload);
                    OnGoAway(lastStreamId, code);
                    break;
                case Http2FrameType.WindowUpdate:
                    await OnWindowUpdateAsync(header, payload, batch);
                    break;
                default:
                    // RFC 9113 §4.1: unknown frame types are ignored.
                    break;
            }
        }
        catch (Http2StreamException e)
        {
            await OnStreamErrorAsync(e.StreamId, e.Code, batch);
        }
    }

    [LoggerMessage(20, LogLevel.Debug, "HTTP/2 {Side} connection error {Code}: {Detail}")]
    private static partial void LogConnectionError(ILogger logger, string side, Http2ErrorCode code, string detail);

    [LoggerMessage(21, LogLevel.Error, "HTTP/2 {Side} connection failed")]
    private static partial void LogLoopFailed(ILogger logger, string side, Exception exception);
}
