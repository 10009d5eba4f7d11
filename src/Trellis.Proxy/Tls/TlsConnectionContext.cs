using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tls;

/// <summary>
/// A connection whose <see cref="Transport"/> is the plaintext side of an authenticated
/// SslStream over another connection's pipes. Identity, endpoints, items, closed token and
/// abort are the underlying connection's. Disposing completes the plaintext pipes (sending a
/// close_notify), disposes the SslStream and, when this connection owns it (the outbound
/// side dialled it), the underlying connection.
/// </summary>
internal sealed class TlsConnectionContext : DelegatingConnectionContext, IConnectionTransportFeature
{
    private readonly bool _ownsInner;
    private readonly SslStream _ssl;
    private readonly TlsReadLoop _readLoop;
    private int _disposed;

    /// <param name="ciphertext">The stream <paramref name="ssl"/> was created over.</param>
    public TlsConnectionContext(ConnectionContext inner, SslStream ssl, DuplexPipeStream ciphertext, bool ownsInner, string peerId)
        : base(inner)
    {
        _ownsInner = ownsInner;
        _ssl = ssl;
        PeerId = peerId;

        // 16 KiB segments from the array-backed shared pool rather than the socket transport's
        // 4 KiB blocks: a full TLS record then decrypts in one read and a 16 KiB flush is one
        // record (one encrypt, one send) instead of four.
        var sessionGate = new Lock();
        _readLoop = new TlsReadLoop(ssl, ciphertext, sessionGate);
        var writer = PipeWriter.Create(ssl, new StreamPipeWriterOptions(MemoryPool<byte>.Shared, MeshTls.RecordBufferSize, leaveOpen: true));
        Transport = new DuplexPipe(_readLoop.Plaintext, new TlsPipeWriter(writer, ssl, inner.Transport.Output, sessionGate));

        var features = new FeatureCollection(inner.Features);
        features.Set<IConnectionTransportFeature>(this);
        Features = features;
    }

    /// <summary>The peer's verified SPIFFE ID.</summary>
    public string PeerId { get; }

    /// <summary>The peers agreed on <see cref="MeshTls.MultiplexedAlpn"/>: the connection carries tunnels.</summary>
    public bool Multiplexed { get; init; }

    public override IDuplexPipe Transport { get; set; }

    public override IFeatureCollection Features { get; }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Transport.Input.CompleteAsync();
        await Transport.Output.CompleteAsync();
        // SslStream must not be disposed under a read in progress.
        _readLoop.Stop();
        await _readLoop.Running;
        await _ssl.DisposeAsync();
        if (_ownsInner)
        {
            await Inner.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
