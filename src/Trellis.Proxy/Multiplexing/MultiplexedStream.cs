using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Multiplexing;

/// <summary>
/// One tunnel of a <see cref="MultiplexedConnection"/>, seen as a connection of its own: its
/// pipes carry the tunnel's bytes, completing the output sends END_STREAM (a half-close),
/// <see cref="Abort"/> and an unfinished <see cref="DisposeAsync"/> reset it, and
/// <see cref="ConnectionClosed"/> fires when the peer ended or reset it or the connection died.
/// </summary>
/// <remarks>
/// The fields of the flow-control and closing state are guarded by the connection's lock.
/// </remarks>
internal sealed class MultiplexedStream : ConnectionContext, IConnectionTransportFeature
{
    private readonly MultiplexedConnection _connection;
    private readonly Pipe _received;
    private readonly CancellationTokenSource _closed = new();
    private TaskCompletionSource? _credit;
    private IDictionary<object, object?>? _items;
    private int _disposed;

    public MultiplexedStream(MultiplexedConnection connection, int id, int sendWindow)
    {
        _connection = connection;
        Id = id;
        SendWindow = sendWindow;

        // Never paused: the stream's window bounds what it holds, and a pause would stop the
        // connection's read loop for every other stream.
        _received = new Pipe(new PipeOptions(
            pool: MemoryPool<byte>.Shared,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0,
            useSynchronizationContext: false));
        Transport = new DuplexPipe(new TunnelReader(this, _received.Reader), new TunnelWriter(this));
        var features = new FeatureCollection();
        features.Set<IConnectionTransportFeature>(this);
        Features = features;
    }

    public int Id { get; }

    // === Guarded by the connection's lock ===

    /// <summary>What the peer still accepts on this stream; negative after a SETTINGS shrink.</summary>
    public long SendWindow { get; set; }

    /// <summary>END_STREAM or RST_STREAM went out (or the connection ended): nothing more is sent.</summary>
    public bool SendClosed { get; set; }

    /// <summary>END_STREAM or RST_STREAM came in (or the connection ended): nothing more is received.</summary>
    public bool ReceiveClosed { get; set; }

    /// <summary>DATA bytes received so far, against the window: <see cref="MultiplexedConnection.StreamWindow"/> plus <see cref="CreditGranted"/>.</summary>
    public long Received { get; set; }

    public long CreditGranted { get; set; }

    /// <summary>Bytes the reader consumed and the peer was not yet credited for.</summary>
    public int CreditOwed { get; set; }

    /// <summary>Set by <see cref="PipeWriter.CancelPendingFlush"/>: a send waiting for credit gives up.</summary>
    public bool FlushCanceled { get; set; }

    // === ConnectionContext ===

    public override string ConnectionId { get; set; } = string.Empty;

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("A tunnel's closed token is its own.");
    }

    public override EndPoint? LocalEndPoint
    {
        get => _connection.Transport.LocalEndPoint;
        set => throw new NotSupportedException("A tunnel's endpoints are its connection's.");
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _connection.Transport.RemoteEndPoint;
        set => throw new NotSupportedException("A tunnel's endpoints are its connection's.");
    }

    public override void Abort(ConnectionAbortedException abortReason) => _connection.Reset(this, Http2ErrorCode.Cancel, fromReadLoop: false);

    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Both halves ended cleanly, or this resets the tunnel; either way it is gone.
            _connection.Reset(this, Http2ErrorCode.Cancel, fromReadLoop: false);
            FireClosed();
        }

        return base.DisposeAsync();
    }

    // === Called by the connection ===

    /// <summary>A wait for send credit; under the connection's lock.</summary>
    public Task WaitForCredit() => (_credit ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Credit arrived, or the stream closed: a waiting send looks again.</summary>
    public void OnCredit() => Interlocked.Exchange(ref _credit, null)?.TrySetResult();

    /// <summary>DATA from the peer, in order, from the read loop.</summary>
    public async ValueTask DeliverAsync(ReadOnlySequence<byte> data, bool endStream)
    {
        var writer = _received.Writer;
        try
        {
            foreach (var segment in data)
            {
                writer.Write(segment.Span);
            }

            // The reader's continuation runs inside this flush (inline scheduler).
            await writer.FlushAsync();
            if (endStream)
            {
                await writer.CompleteAsync();
                FireClosed();
            }
        }
        catch (InvalidOperationException)
        {
            // This side already completed the tunnel's input: the bytes have nowhere to go.
        }
    }

    /// <summary>The tunnel is gone. From the read loop the input fails with <paramref name="error"/>; from this side its user completes it.</summary>
    public void OnReset(Exception error, bool fromReadLoop)
    {
        if (fromReadLoop)
        {
            _received.Writer.Complete(error);
        }

        OnCredit();
        FireClosed();
    }

    private void FireClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (AggregateException)
        {
            // A callback's failure is its owner's; the tunnel is closed either way.
        }
    }

    /// <summary>The stream's reader: hands the connection what was consumed, for credit.</summary>
    private sealed class TunnelReader(MultiplexedStream stream, PipeReader inner) : PipeReader
    {
        private ReadOnlySequence<byte> _last;

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            var bytes = _last.Slice(_last.Start, consumed).Length;
            _last = default;
            inner.AdvanceTo(consumed, examined);
            if (bytes > 0)
            {
                stream._connection.Consumed(stream, (int)bytes);
            }
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var reading = inner.ReadAsync(cancellationToken);
            if (reading.IsCompletedSuccessfully)
            {
                var result = reading.Result;
                _last = result.Buffer;
                return new ValueTask<ReadResult>(result);
            }

            return Remember(reading);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            _last = result.Buffer;
            return true;
        }

        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
        private async ValueTask<ReadResult> Remember(ValueTask<ReadResult> reading)
        {
            var result = await reading;
            _last = result.Buffer;
            return result;
        }
    }

    /// <summary>
    /// The stream's writer: buffers between flushes (in a pooled array, returned after each
    /// flush so an idle tunnel holds none) and sends the buffer as DATA on flush.
    /// </summary>
    private sealed class TunnelWriter(MultiplexedStream stream) : PipeWriter
    {
        private const int MinimumBuffer = 4096;

        private byte[]? _buffer;
        private int _written;
        private int _completed;

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => _written;

        public override void Advance(int bytes) => _written += bytes;

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsSpan(_written);
        }

        public override void CancelPendingFlush()
        {
            stream._connection.CancelFlush(stream);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            _written == 0 ? new ValueTask<FlushResult>(new FlushResult(false, Volatile.Read(ref _completed) != 0)) : SendAsync(endStream: false);

        public override void Complete(Exception? exception = null) => _ = CompleteAsync(exception).AsTask();

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            if (exception is null)
            {
                await SendAsync(endStream: true);
                return;
            }

            Release();
            stream._connection.Reset(stream, Http2ErrorCode.Cancel, fromReadLoop: false);
        }

        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
        private async ValueTask<FlushResult> SendAsync(bool endStream)
        {
            var data = _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _written);
            var result = await stream._connection.SendDataAsync(stream, data, endStream);
            Release();
            return result;
        }

        private void Reserve(int sizeHint)
        {
            var needed = _written + Math.Max(sizeHint, 1);
            if (_buffer is not null && needed <= _buffer.Length)
            {
                return;
            }

            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(MinimumBuffer, (_buffer?.Length ?? 0) * 2)));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _written).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }

        private void Release()
        {
            _written = 0;
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }
}
