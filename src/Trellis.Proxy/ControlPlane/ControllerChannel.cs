using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// The gRPC channel to the controller: HTTP/2 over TLS verified against the trust anchor.
/// The channel's address carries the controller's DNS name (authority and SNI) while the
/// socket dials the configured host, so a controller reached by IP still proves its name.
/// </summary>
public static class ControllerChannel
{
    /// <param name="clientCertificate">
    /// The proxy's own certificate for mTLS to the controller, once identity has issued one;
    /// asked on each new connection so a renewed certificate is used from then on.
    /// </param>
    public static GrpcChannel Create(
        ControlPlaneOptions options,
        X509Certificate2Collection anchors,
        TimeProvider time,
        Func<X509Certificate2?>? clientCertificate = null)
    {
        var (host, port) = options.ParseController();
        var expectedName = options.ExpectedName();
        var validator = new ControllerCertificateValidator(anchors, expectedName, time);
        var authority = CertificateNames.IsSpiffeId(expectedName) ? host : expectedName;

        var ssl = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = validator.Validate,
        };
        if (clientCertificate is not null)
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate()!;

        var handler = new SocketsHttpHandler
        {
            SslOptions = ssl,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
            UseProxy = false,
            ConnectCallback = (_, cancellationToken) => ConnectAsync(host, port, cancellationToken),
        };

        var address = new UriBuilder(Uri.UriSchemeHttps, authority.Contains(':', StringComparison.Ordinal) ? $"[{authority}]" : authority, port).Uri;
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
        });
    }

    private static async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
