using System.Net.Http;
using System.Net.Sockets;
using Trellis.Proxy.Transport;
using Yarp.ReverseProxy.Forwarder;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// Turns YARP's failure values (which phase failed, and the exception behind it) into the
/// proxy's own <see cref="ProxyError"/>. Failures on the client's side (it reset the stream or
/// went away) are not proxy errors: nobody is left to tell.
/// </summary>
internal static class ForwarderErrors
{
    /// <summary>True when the failure was the client's doing: a reset stream or a closed connection.</summary>
    public static bool IsClientSide(ForwarderError error) => error is
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient or
        ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient or
        ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient or
        ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient;

    /// <summary>Maps an upstream-side failure; callers check <see cref="IsClientSide"/> first.</summary>
    public static ProxyError ToProxyError(ForwarderError error, Exception? exception)
    {
        if (error == ForwarderError.None)
        {
            return ProxyError.None;
        }

        // The innermost socket error says most: refused, unreachable, timed out.
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException socket:
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => ProxyError.ConnectionRefused,
                        SocketError.TimedOut => ProxyError.ConnectTimeout,
                        SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => ProxyError.UpstreamClosed,
                        _ => ProxyError.HostUnreachable,
                    };

                // SocketsHttpHandler reports its ConnectTimeout as a cancellation wrapping a TimeoutException.
                case TimeoutException:
                    return ProxyError.ConnectTimeout;

                case HttpProtocolException:
                    return ProxyError.UpstreamProtocolError;

                case HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError or HttpRequestError.VersionNegotiationError }:
                    return ProxyError.UpstreamProtocolError;
            }
        }

        return error switch
        {
            ForwarderError.RequestTimedOut or ForwarderError.UpgradeActivityTimeout => ProxyError.ResponseTimeout,
            ForwarderError.NoAvailableDestinations => ProxyError.NoEndpoints,
            _ => ProxyError.UpstreamClosed,
        };
    }

    /// <summary>
    /// The gRPC status a gRPC client should see for a proxy error: DEADLINE_EXCEEDED (4) for
    /// timeouts, UNAVAILABLE (14) otherwise, as Linkerd answers.
    /// </summary>
    public static int GrpcStatus(this ProxyError error) => error.StatusCode() == 504 ? 4 : 14;
}
