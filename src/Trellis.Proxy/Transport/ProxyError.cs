namespace Trellis.Proxy.Transport;

/// <summary>
/// The proxy's own failures, reported to HTTP clients as a status code plus a
/// <c>trellis-proxy-error</c> header naming the reason, and to operators as one log line.
/// </summary>
public enum ProxyError
{
    None,
    ConnectionRefused,
    HostUnreachable,
    ConnectTimeout,
    ResponseTimeout,
    UpstreamClosed,
    UpstreamProtocolError,
    NoEndpoints,
}

public static class ProxyErrorExtensions
{
    /// <summary>The value of the <c>trellis-proxy-error</c> response header.</summary>
    public static string Reason(this ProxyError error) => error switch
    {
        ProxyError.ConnectionRefused => "connection refused",
        ProxyError.HostUnreachable => "host unreachable",
        ProxyError.ConnectTimeout => "connect timeout",
        ProxyError.ResponseTimeout => "response timeout",
        ProxyError.UpstreamClosed => "upstream closed connection",
        ProxyError.UpstreamProtocolError => "upstream protocol error",
        ProxyError.NoEndpoints => "no endpoints",
        _ => "none",
    };

    /// <summary>Timeouts are 504 Gateway Timeout; every other upstream failure is 502 Bad Gateway.</summary>
    public static int StatusCode(this ProxyError error) =>
        error is ProxyError.ConnectTimeout or ProxyError.ResponseTimeout ? 504 : 502;
}
