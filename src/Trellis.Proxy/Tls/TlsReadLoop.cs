using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Decrypts a TLS connection's records into a pipe, the plaintext side's input. Written here in
/// place of <c>PipeReader.Create(sslStream)</c> because of where it waits: it waits for a whole
/// record on the socket pipe itself (<see cref="DuplexPipeStream.WaitForRecordAsync"/>) and only
/// then asks SslStream for it, so SslStream's read completes without suspending. Suspended,
/// SslStream's reads and the stream reader's each took a state-machine box from the runtime's
/// pooling builder, which caches one per thread and per core: at 20 connections the meshed proxy
/// allocated ~440 B per request in them. While a connection is idle neither side holds a buffer.
/// </summary>
internal sealed class TlsReadLoop
{
    private readonly SslStream _ssl;
    private readonly DuplexPipeStream _ciphertext;
    private readonly Pipe _plaintext;
    private readonly Lock _sessionGate;

    /// <param name="sessionGate">Held while a read decrypts: the writer's close_notify must not run on the session at the same moment.</param>
    public TlsReadLoop(SslStream ssl, DuplexPipeStream ciphertext, Lock sessionGate)
    {
        _ssl = ssl;
        _ciphertext = ciphertext;
        _sessionGate = sessionGate;
        _plaintext = new Pipe(new PipeOptions(
            pool: MemoryPool<byte>.Shared,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 64 * 1024,
            resumeWriterThreshold: 32 * 1024,
            minimumSegmentSize: MeshTls.RecordBufferSize,
            useSynchronizationContext: false));
        Running = RunAsync();
    }

    /// <summary>The decrypted bytes; completed at the peer's close_notify or end, with the error if the connection broke.</summary>
    public PipeReader Plaintext => _plaintext.Reader;

    /// <summary>Ends once the loop has stopped; it never faults.</summary>
    public Task Running { get; }

    /// <summary>Stops a loop that is waiting for the peer, for a connection being closed.</summary>
    public void Stop() => _ciphertext.CancelPendingRead();

    private async Task RunAsync()
    {
        var writer = _plaintext.Writer;
        Exception? error = null;
        try
        {
            // True while SslStream may hold plaintext the last read did not take.
            var holding = false;
            while (true)
            {
                if (!holding && await _ciphertext.WaitForRecordAsync() == RecordWait.Canceled)
                {
                    break;
                }

                var memory = writer.GetMemory(MeshTls.RecordBufferSize);
                ValueTask<int> reading;
                // A whole record is buffered, so SslStream decrypts it inside this call.
                lock (_sessionGate)
                {
                    reading = _ssl.ReadAsync(memory);
                }

                var read = await reading;
                if (read == 0)
                {
                    // close_notify, or the end of the connection at a record boundary.
                    break;
                }

                writer.Advance(read);
                holding = read == memory.Length;
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            // A broken record, a reset or a closed connection: the reader sees it as the end.
            error = e;
        }

        await writer.CompleteAsync(error);
    }
}
