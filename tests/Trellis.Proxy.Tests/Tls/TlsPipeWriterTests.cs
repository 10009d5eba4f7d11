using System.IO.Pipelines;
using System.Net.Security;
using Trellis.Proxy.Tls;

namespace Trellis.Proxy.Tests.Tls;

public sealed class TlsPipeWriterTests
{
    /// <summary>
    /// OpenSSL sometimes refuses the close_notify (SSL_ERROR_SYSCALL, thrown as an exception type
    /// internal to the runtime): completing still ends the connection below, cleanly, so a peer
    /// waiting for the end of the stream gets it and what was written before stays intact.
    /// </summary>
    [Fact]
    public async Task Complete_CloseNotifyRefused_EndsTheConnectionCleanly()
    {
        var plaintext = new Pipe();
        var ciphertext = new Pipe();
        await using var ssl = new RefusingShutdownSslStream();
        var writer = new TlsPipeWriter(plaintext.Writer, ssl, ciphertext.Writer, new Lock());

        await writer.CompleteAsync();

        var end = await ciphertext.Reader.ReadAsync();
        Assert.True(ssl.ShutdownAttempted);
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
    }

    /// <summary>Completing with an error skips the close_notify and passes the error on.</summary>
    [Fact]
    public async Task Complete_WithError_NoCloseNotifyAndTheErrorPassedOn()
    {
        var ciphertext = new Pipe();
        await using var ssl = new RefusingShutdownSslStream();
        var writer = new TlsPipeWriter(new Pipe().Writer, ssl, ciphertext.Writer, new Lock());

        await writer.CompleteAsync(new IOException("the upstream went away"));

        Assert.False(ssl.ShutdownAttempted);
        var error = await Assert.ThrowsAsync<IOException>(async () => await ciphertext.Reader.ReadAsync());
        Assert.Equal("the upstream went away", error.Message);
    }

    private sealed class RefusingShutdownSslStream() : SslStream(new MemoryStream())
    {
        public bool ShutdownAttempted { get; private set; }

        public override Task ShutdownAsync()
        {
            ShutdownAttempted = true;
            throw new ApplicationException("Operation failed with error - 5.");
        }
    }
}
