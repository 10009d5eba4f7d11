using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Identity;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Dials a meshed upstream and upgrades the hop to mutual TLS 1.3: it connects through the
/// inner connector, presents this proxy's certificate, offers the mesh ALPN protocol, and
/// accepts the server only when its chain ends in a trust anchor and its SPIFFE ID is the one
/// expected for that endpoint. The returned connection's pipes carry plaintext.
/// The expected identity is per endpoint (the destination service says it), so it is an
/// argument of <see cref="ConnectAsync(IPEndPoint, string, CancellationToken)"/>;
/// <see cref="ExpectingIdentity"/> gives an <see cref="IUpstreamConnector"/> for a fixed one.
/// </summary>
public sealed partial class MeshTlsConnector : IMeshConnector
{
    private readonly IUpstreamConnector _inner;
    private readonly IIdentitySource _identity;
    private readonly TimeProvider _time;
    private readonly TimeSpan _handshakeTimeout;
    private readonly ILogger _logger;

    /// <param name="inner">Dials the plain connection (sockets in the proxy, pipes in tests).</param>
    /// <param name="handshakeTimeout">Defaults to <see cref="MeshTls.DefaultHandshakeTimeout"/>.</param>
    public MeshTlsConnector(
        IUpstreamConnector inner, IIdentitySource identity, TimeProvider time, ILogger<MeshTlsConnector> logger, TimeSpan? handshakeTimeout = null)
    {
        _inner = inner;
        _identity = identity;
        _time = time;
        _logger = logger;
        _handshakeTimeout = handshakeTimeout ?? MeshTls.DefaultHandshakeTimeout;
    }

    /// <summary>A connector that expects every endpoint it dials to be <paramref name="expectedIdentity"/>.</summary>
    public IUpstreamConnector ExpectingIdentity(string expectedIdentity) => new FixedIdentityConnector(this, expectedIdentity);

    /// <summary>Connects to <paramref name="endpoint"/> and authenticates it as <paramref name="expectedIdentity"/>.</summary>
    public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, string expectedIdentity, CancellationToken cancellationToken) =>
        ConnectAsync(endpoint, expectedIdentity, multiplexed: false, cancellationToken);

    /// <summary>
    /// Connects to <paramref name="endpoint"/> and authenticates it as <paramref name="expectedIdentity"/>;
    /// with <paramref name="multiplexed"/> it offers <see cref="MeshTls.MultiplexedAlpn"/> first, and the
    /// returned connection's <see cref="TlsConnectionContext.Multiplexed"/> says whether the peer took it.
    /// </summary>
    /// <exception cref="UpstreamConnectException">
    /// Dialling failed, or the handshake did: <see cref="ProxyError.ConnectTimeout"/> when it
    /// timed out, <see cref="ProxyError.UpstreamProtocolError"/> otherwise (the inner exception
    /// is a <see cref="MeshTlsException"/> saying why).
    /// </exception>
    public async ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, string expectedIdentity, bool multiplexed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(expectedIdentity);
        var identity = _identity.Current;
        var connection = await _inner.ConnectAsync(endpoint, cancellationToken);
        var validator = new MeshPeerValidator(expectedIdentity);
        var ciphertext = new DuplexPipeStream(connection.Transport);
        var ssl = new SslStream(ciphertext, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            // No SNI: mesh peers are named by SPIFFE IDs, which are not host names.
            TargetHost = string.Empty,
            ApplicationProtocols = multiplexed ? [MeshTls.MultiplexedAlpn, MeshTls.Alpn] : [MeshTls.Alpn],
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateContext = identity.CertificateContext,
            CertificateChainPolicy = identity.CreateChainPolicy(MeshTls.ServerAuthOid),
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validator.Callback,
        };

        using var timeout = new CancellationTokenSource(_handshakeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string? failure;
        Exception? error = null;
        try
        {
            await ssl.AuthenticateAsClientAsync(options, linked.Token);
            var negotiated = ssl.NegotiatedApplicationProtocol;
            var tunnels = multiplexed && negotiated == MeshTls.MultiplexedAlpn;
            if ((negotiated == MeshTls.Alpn || tunnels) && validator.PeerId is { } peerId)
            {
                return new TlsConnectionContext(connection, ssl, ciphertext, ownsInner: true, peerId) { Multiplexed = tunnels };
            }

            failure = "server did not agree to the mesh ALPN protocol";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            failure = "handshake timed out";
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            failure = validator.Failure ?? e.Message;
            error = e;
        }
        catch
        {
            await DisposeAsync(ssl, connection);
            throw;
        }

        await DisposeAsync(ssl, connection);
        LogHandshakeFailed(_logger, endpoint, expectedIdentity, failure);
        var kind = timeout.IsCancellationRequested && error is null ? ProxyError.ConnectTimeout : ProxyError.UpstreamProtocolError;
        throw new UpstreamConnectException(kind, endpoint, new MeshTlsException(failure, error));
    }

    private static async ValueTask DisposeAsync(SslStream ssl, ConnectionContext connection)
    {
        await ssl.DisposeAsync();
        await connection.Transport.Output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
        await connection.DisposeAsync();
    }

    [LoggerMessage(1, LogLevel.Warning, "mesh TLS to {Endpoint} (expecting {Identity}) failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, IPEndPoint endpoint, string identity, string reason);

    /// <summary>The <see cref="IUpstreamConnector"/> face of the connector for one expected identity.</summary>
    private sealed class FixedIdentityConnector(MeshTlsConnector connector, string expectedIdentity) : IUpstreamConnector
    {
        public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken) =>
            connector.ConnectAsync(endpoint, expectedIdentity, cancellationToken);
    }
}
