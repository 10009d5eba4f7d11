using Trellis.Proxy.Http.Http2.Hpack;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The proxy's own answers, each one HEADERS frame with END_STREAM. A plain client gets the
/// failure as a status code; a gRPC client only reads grpc-status, so it gets a 200 with a
/// trailers-only UNAVAILABLE (14) or, for timeouts, DEADLINE_EXCEEDED (4), as Linkerd answers.
/// Both carry the reason in <c>trellis-proxy-error</c>. Built once per failure kind.
/// </summary>
internal static class Http2ErrorResponses
{
    public const string ProxyErrorHeader = "trellis-proxy-error";

    /// <summary>The answer to CONNECT, which the relay does not tunnel.</summary>
    public static readonly HeaderField[] MethodNotAllowed = [new(":status", "405"), new("content-length", "0")];

    private static readonly HeaderField[][] Plain = Build(grpc: false);
    private static readonly HeaderField[][] Grpc = Build(grpc: true);

    public static HeaderField[] For(ProxyError error, bool grpc) => (grpc ? Grpc : Plain)[(int)error];

    /// <summary>The :status the client sees for <paramref name="error"/>.</summary>
    public static int Status(ProxyError error, bool grpc) => grpc ? 200 : error.StatusCode();

    /// <summary>The gRPC status a gRPC client sees: DEADLINE_EXCEEDED (4) for timeouts, UNAVAILABLE (14) otherwise.</summary>
    public static int GrpcStatus(ProxyError error) => error.StatusCode() == 504 ? 4 : 14;

    private static HeaderField[][] Build(bool grpc)
    {
        var errors = Enum.GetValues<ProxyError>();
        var answers = new HeaderField[errors.Length][];
        foreach (var error in errors)
        {
            var reason = error.Reason();
            answers[(int)error] = grpc
                ?
                [
                    new(":status", "200"),
                    new("content-type", "application/grpc"),
                    new("grpc-status", GrpcStatus(error) == 4 ? "4" : "14"),
                    new("grpc-message", reason),
                    new(ProxyErrorHeader, reason),
                ]
                :
                [
                    new(":status", error.StatusCode() == 504 ? "504" : "502"),
                    new(ProxyErrorHeader, reason),
                    new("content-length", "0"),
                ];
        }

        return answers;
    }
}
