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
/// Disposing it leaves the pipes alone unless it was given the connection as its owner (the
/// HTTP/2 client's dialled connections, which SocketsHttpHandler closes by disposing the stream).
/// </summary>
internal sealed class DuplexPipeStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly IAsyncDisposable? _owner;

    public DuplexPipeStream(IDuplexPipe pipe, IAsyncDisposable? owner = null)
    {
        _input = pipe.Input;
        _output = pipe.Output;
        _owner = owner;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_owner is not null)
        {
            await _owner.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _owner is not null)
        {
            // Closing a connection flushes and waits for its send loop; a synchronous Dispose
            // must not block a thread on that, so the close runs on its own.
            _ = _owner.DisposeAsync().AsTask();
        }

        base.Dispose(disposing);
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

        var count = (int)Math.Min(buffer.Length, destination.Length);
        var taken = buffer.Slice(0, count);
        taken.CopyTo(destination.Span);
        _input.AdvanceTo(taken.End);
        return count;
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
