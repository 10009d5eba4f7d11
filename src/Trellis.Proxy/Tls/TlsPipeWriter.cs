using System.IO.Pipelines;
using System.Net.Security;

namespace Trellis.Proxy.Tls;

/// <summary>
/// The plaintext writer of a TLS connection. It forwards to a <c>PipeWriter.Create</c> writer
/// over the SslStream and adds what that writer lacks: completing it ends the sending half the
/// way TLS and TCP expect, with a close_notify alert and then a FIN on the connection below, so
/// a half-close passed on by <c>PipeCopy</c> reaches the peer while the other direction flows.
/// </summary>
internal sealed class TlsPipeWriter : PipeWriter
{
    private readonly PipeWriter _plaintext;
    private readonly SslStream _ssl;
    private readonly PipeWriter _ciphertext;
    private readonly Lock _sessionGate;
    private int _completed;

    /// <param name="sessionGate">Held while OpenSSL works on the session outside a write: shared with the connection's <see cref="TlsReadLoop"/>.</param>
    public TlsPipeWriter(PipeWriter plaintext, SslStream ssl, PipeWriter ciphertext, Lock sessionGate)
    {
        _plaintext = plaintext;
        _ssl = ssl;
        _ciphertext = ciphertext;
        _sessionGate = sessionGate;
    }

    public override bool CanGetUnflushedBytes => _plaintext.CanGetUnflushedBytes;

    public override long UnflushedBytes => _plaintext.UnflushedBytes;

    public override void Advance(int bytes) => _plaintext.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => _plaintext.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => _plaintext.GetSpan(sizeHint);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        _plaintext.FlushAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        _plaintext.WriteAsync(source, cancellationToken);

    public override void CancelPendingFlush() => _plaintext.CancelPendingFlush();

    /// <summary>
    /// Completes without blocking: the close_notify is written asynchronously. Callers that can
    /// await should use <see cref="CompleteAsync"/>.
    /// </summary>
    public override void Complete(Exception? exception = null) => _ = CompleteAsync(exception).AsTask();

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        try
        {
            // Writes what is still buffered into the SslStream; the stream itself stays open.
            await _plaintext.CompleteAsync(exception);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException
            or System.Security.Cryptography.CryptographicException)
        {
            // The connection is already broken: the peer sees that instead.
            exception ??= e;
        }

        if (exception is null)
        {
            await SendCloseNotifyAsync();
        }

        await _ciphertext.CompleteAsync(exception);
    }

    /// <summary>
    /// The close_notify alert, best effort: everything written has gone out before it, so the
    /// connection still ends with a FIN after the last byte when OpenSSL will not make one.
    /// </summary>
    private async Task SendCloseNotifyAsync()
    {
        try
        {
            Task shutdown;
            // SSL_shutdown runs inside this call, and OpenSSL must not run it on a session the
            // read loop is decrypting from at the same moment (it failed with SSL_ERROR_SYSCALL).
            lock (_sessionGate)
            {
                shutdown = _ssl.ShutdownAsync();
            }

            await shutdown;
        }
        catch (Exception)
        {
            // Nothing to pass on: a session a bad record ended refuses the alert (a
            // CryptographicException), a closed connection cannot carry it, and OpenSSL reports
            // its own failures with an exception type internal to the runtime. The peer sees the
            // FIN without the alert.
        }
    }
}
