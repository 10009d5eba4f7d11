using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Metrics;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Wraps a connection's pipes to count the bytes the proxy consumes from and writes to a peer,
/// so <c>tcp_read_bytes_total</c>/<c>tcp_write_bytes_total</c> hold for every protocol without
/// each layer counting: one addition per read or write.
/// </summary>
public sealed class CountingDuplexPipe : IDuplexPipe
{
    public CountingDuplexPipe(IDuplexPipe inner, Counter readBytes, Counter writtenBytes)
    {
        Input = new CountingPipeReader(inner.Input, readBytes);
        Output = new CountingPipeWriter(inner.Output, writtenBytes);
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    private sealed class CountingPipeReader : PipeReader
    {
        private readonly PipeReader _inner;
        private readonly Counter _bytes;
        private ReadOnlySequence<byte> _lastBuffer;

        public CountingPipeReader(PipeReader inner, Counter bytes)
        {
            _inner = inner;
            _bytes = bytes;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            var count = _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
            if (count > 0)
            {
                _bytes.Add(count);
            }

            _lastBuffer = default;
            _inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => _inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => _inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var pending = _inner.ReadAsync(cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                var result = pending.Result;
                _lastBuffer = result.Buffer;
                return new ValueTask<ReadResult>(result);
            }

            return AwaitAsync(pending);
        }

        // Pooled: a read that waits on the socket allocates no state machine per call.
        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
        private async ValueTask<ReadResult> AwaitAsync(ValueTask<ReadResult> pending)
        {
            var result = await pending;
            _lastBuffer = result.Buffer;
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            var read = _inner.TryRead(out result);
            if (read)
            {
                _lastBuffer = result.Buffer;
            }

            return read;
        }
    }

    private sealed class CountingPipeWriter : PipeWriter
    {
        private readonly PipeWriter _inner;
        private readonly Counter _bytes;

        public CountingPipeWriter(PipeWriter inner, Counter bytes)
        {
            _inner = inner;
            _bytes = bytes;
        }

        public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => _inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            _bytes.Add(bytes);
            _inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => _inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => _inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => _inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            _bytes.Add(source.Length);
            return _inner.WriteAsync(source, cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);
    }
}
