using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;

namespace Trellis.Proxy.Tls;

/// <summary>
/// A Stream over a connection's duplex pipe, for SslStream to read ciphertext from and write it
/// to. Hand-written because the public adapters, <c>PipeReader.AsStream</c> and
/// <c>PipeWriter.AsStream</c>, are one-directional and SslStream takes one duplex stream
/// (Kestrel's own duplex adapter is internal). Only the async paths exist: SslStream is driven
/// by async calls, and a blocking read on a pipe would hold a thread.
/// A read never returns bytes past the end of the TLS record it started in, so SslStream never
/// holds more than one record: once it has handed over a record's plaintext it holds nothing,
/// and <see cref="WaitForRecordAsync"/> can wait for the next record outside SslStream.
/// Disposing it leaves the pipes alone: the connection below is closed by its owner.
/// </summary>
internal sealed class DuplexPipeStream : Stream
{
    private const int RecordHeaderLength = 5;

    /// <summary>RFC 8446 §5.2: a TLSCiphertext fragment is at most 2^14 + 256 bytes (2^14 + 2048 in TLS 1.2).</summary>
    private const int MaxRecordPayload = (1 << 14) + 2048;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;

    /// <summary>Bytes left of the record the last read started in; 0 at a record boundary.</summary>
    private int _recordLeft;

    public DuplexPipeStream(IDuplexPipe pipe)
    {
        _input = pipe.Input;
        _output = pipe.Output;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    // Pooled builders: a read or write that waits on the socket then allocates no state machine box.
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("the read was cancelled");
            }

            var buffer = result.Buffer;
            if (destination.IsEmpty)
            {
                // A zero-byte read waits for data without taking any, so SslStream holds no buffer
                // while a connection is idle.
                _input.AdvanceTo(buffer.Start);
                return 0;
            }

            if (buffer.IsEmpty)
            {
                _input.AdvanceTo(buffer.End);
                return 0;
            }

            // A record is started only once its header is here, so its end is known.
            var recordEnd = RecordEnd(buffer);
            if (recordEnd == 0 && !result.IsCompleted)
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var count = (int)Math.Min(buffer.Length, destination.Length);
            if (recordEnd > 0)
            {
                count = Math.Min(count, recordEnd);
                _recordLeft = recordEnd - count;
            }

            var taken = buffer.Slice(0, count);
            taken.CopyTo(destination.Span);
            _input.AdvanceTo(taken.End);
            return count;
        }
    }

    /// <summary>
    /// Waits, consuming nothing, until the rest of the current record (or, at a record boundary, a
    /// whole next record) is buffered, so SslStream can decrypt it without waiting on the socket.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<RecordWait> WaitForRecordAsync()
    {
        while (true)
        {
            var result = await _input.ReadAsync();
            if (result.IsCanceled)
            {
                _input.AdvanceTo(result.Buffer.Start);
                return RecordWait.Canceled;
            }

            var buffer = result.Buffer;
            var recordEnd = RecordEnd(buffer);
            var ready = recordEnd > 0 && buffer.Length >= recordEnd;
            if (ready || result.IsCompleted)
            {
                _input.AdvanceTo(buffer.Start);
                return ready ? RecordWait.Ready : RecordWait.Ended;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Wakes a pending read or record wait, which then reports a cancellation.</summary>
    public void CancelPendingRead() => _input.CancelPendingRead();

    /// <summary>
    /// How many bytes from the start of <paramref name="buffer"/> to the end of the record they
    /// belong to: the rest of the current record, or at a record boundary the whole next one;
    /// 0 while the next record's header is incomplete.
    /// </summary>
    private int RecordEnd(in ReadOnlySequence<byte> buffer) =>
        _recordLeft > 0 ? _recordLeft
        : buffer.Length >= RecordHeaderLength ? RecordHeaderLength + RecordLength(buffer)
        : 0;

    /// <summary>
    /// The length field of the record header at the start of <paramref name="buffer"/>, capped
    /// at the largest record TLS allows: a peer that announces more gets its bytes handed to
    /// SslStream, which rejects the record, rather than a wait the socket pipe's bound would
    /// never end.
    /// </summary>
    private static int RecordLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        buffer.Slice(0, RecordHeaderLength).CopyTo(header);
        return Math.Min((header[3] << 8) | header[4], MaxRecordPayload);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        var flush = await _output.WriteAsync(source, cancellationToken);
        if (flush.IsCanceled)
        {
            throw new OperationCanceledException("the write was cancelled");
        }

        if (flush.IsCompleted)
        {
            throw new IOException("the connection's reader has gone away");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken) => await _output.FlushAsync(cancellationToken);

    public override void Flush()
    {
        // WriteAsync flushes every write; nothing is ever left to flush here.
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("synchronous reads are not supported over pipes");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("synchronous writes are not supported over pipes");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>How <see cref="DuplexPipeStream.WaitForRecordAsync"/> ended.</summary>
internal enum RecordWait
{
    /// <summary>A whole record is buffered.</summary>
    Ready,

    /// <summary>The connection ended first; what is buffered is all there will be.</summary>
    Ended,

    /// <summary>The wait was cancelled (the connection is being closed).</summary>
    Canceled,
}
