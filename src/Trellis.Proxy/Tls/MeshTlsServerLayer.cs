using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Identity;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Inbound mesh TLS. For a connection that starts with a TLS ClientHello it peeks the hello
/// (consuming nothing) and decides by ALPN: a hello offering <see cref="MeshTls.Alpn"/> is
/// another proxy, so TLS is terminated here, the client's certificate is required and
/// verified against the trust anchors, its SPIFFE ID becomes <see cref="ConnectionTls.ClientId"/>,
/// and <c>next</c> runs on the decrypted connection. Anything else (the application's own TLS,
/// or bytes that only look like TLS) goes to <c>opaque</c> untouched.
/// Trade-off: one peek decides, so a mesh client must offer the mesh ALPN in its first hello;
/// the whole peek-and-handshake is bounded by one timeout so a stalled client cannot hold a
/// connection.
/// </summary>
public sealed partial class MeshTlsServerLayer
{
    private readonly ProxyConnectionHandler _next;
    private readonly ProxyConnectionHandler _opaque;
    private readonly ProxyConnectionHandler? _multiplexed;
    private readonly List<SslApplicationProtocol> _protocols;
    private readonly IIdentitySource _identity;
    private readonly TimeProvider _time;
    private readonly TimeSpan _handshakeTimeout;
    private readonly ILogger _logger;
    private readonly Counter _inboundFailures;
    private readonly Counter _outboundFailures;

    /// <param name="next">The rest of the stack, run on the decrypted connection.</param>
    /// <param name="opaque">Where connections that are not mesh TLS go, bytes untouched.</param>
    /// <param name="handshakeTimeout">Defaults to <see cref="MeshTls.DefaultHandshakeTimeout"/>.</param>
    /// <param name="multiplexed">Where a connection whose client chose <see cref="MeshTls.MultiplexedAlpn"/> goes; null to refuse that protocol (the client then falls back to <see cref="MeshTls.Alpn"/>).</param>
    public MeshTlsServerLayer(
        ProxyConnectionHandler next,
        ProxyConnectionHandler opaque,
        IIdentitySource identity,
        ProxyMetrics metrics,
        TimeProvider time,
        ILogger<MeshTlsServerLayer> logger,
        TimeSpan? handshakeTimeout = null,
        ProxyConnectionHandler? multiplexed = null)
    {
        _next = next;
        _opaque = opaque;
        _multiplexed = multiplexed;
        _protocols = multiplexed is null ? [MeshTls.Alpn] : [MeshTls.MultiplexedAlpn, MeshTls.Alpn];
        _identity = identity;
        _time = time;
        _logger = logger;
        _handshakeTimeout = handshakeTimeout ?? MeshTls.DefaultHandshakeTimeout;
        _inboundFailures = metrics.TcpCloseTotal.WithLabels(TrafficDirection.Inbound.Label(), "src", "false", MeshTls.HandshakeErrno);
        _outboundFailures = metrics.TcpCloseTotal.WithLabels(TrafficDirection.Outbound.Label(), "src", "false", MeshTls.HandshakeErrno);
    }

    public async Task InvokeAsync(ProxyConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        TlsConnectionContext? tls;
        using (var timeout = new CancellationTokenSource(_handshakeTimeout, _time))
        {
            bool mesh;
            try
            {
                mesh = await PeekIsMeshAsync(connection.Transport.Input, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                await FailAsync(connection, "timed out waiting for the ClientHello");
                return;
            }

            if (!mesh)
            {
                timeout.Dispose();
                await _opaque(connection);
                return;
            }

            tls = await HandshakeAsync(connection, timeout);
        }

        if (tls is null)
        {
            return;
        }

        connection.Tls = new ConnectionTls(true, tls.PeerId);
        var decrypted = new ProxyConnection(tls, connection.Direction, connection.Target) { Tls = connection.Tls };
        try
        {
            await (tls.Multiplexed ? _multiplexed! : _next)(decrypted);
        }
        finally
        {
            await tls.DisposeAsync();
        }
    }

    /// <summary>Reads until a whole ClientHello is there (or it cannot be one), consuming nothing.</summary>
    private static async Task<bool> PeekIsMeshAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = ClientHelloReader.TryRead(buffer, out var hello);
            if (status != ClientHelloStatus.NeedMoreData || result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return status == ClientHelloStatus.Parsed && hello!.Offers(MeshTls.Alpn);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task<TlsConnectionContext?> HandshakeAsync(ProxyConnection connection, CancellationTokenSource timeout)
    {
        var identity = _identity.Current;
        var validator = new MeshPeerValidator(expectedIdentity: null);
        var ciphertext = new DuplexPipeStream(connection.Transport);
        var ssl = new SslStream(ciphertext, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ApplicationProtocols = _protocols,
            EnabledSslProtocols = SslProtocols.Tls13,
            ServerCertificateContext = identity.CertificateContext,
            ClientCertificateRequired = true,
            CertificateChainPolicy = identity.CreateChainPolicy(MeshTls.ClientAuthOid),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validator.Callback,
        };

        string failure;
        try
        {
            await ssl.AuthenticateAsServerAsync(options, timeout.Token);
            if (validator.PeerId is { } peerId)
            {
                return new TlsConnectionContext(connection.Context, ssl, ciphertext, ownsInner: false, peerId)
                {
                    Multiplexed = _multiplexed is not null && ssl.NegotiatedApplicationProtocol == MeshTls.MultiplexedAlpn,
                };
            }

            failure = validator.Failure ?? "client presented no certificate";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            failure = "handshake timed out";
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            failure = validator.Failure ?? e.Message;
        }

        await ssl.DisposeAsync();
        await FailAsync(connection, failure);
        return null;
    }

    /// <summary>Logs, counts and closes a connection whose mesh handshake failed.</summary>
    private async Task FailAsync(ProxyConnection connection, string reason)
    {
        LogHandshakeFailed(_logger, connection.Direction.Label(), connection.ClientAddress, reason);
        (connection.Direction == TrafficDirection.Inbound ? _inboundFailures : _outboundFailures).Increment();
        await connection.Transport.Output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
    }

    [LoggerMessage(1, LogLevel.Warning, "{Direction} mesh TLS handshake from {Client} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string direction, IPEndPoint? client, string reason);
}
