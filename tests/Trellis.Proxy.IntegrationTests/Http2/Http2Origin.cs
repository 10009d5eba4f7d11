using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Trellis.Proxy.IntegrationTests.Http2;

/// <summary>
/// The HTTP/2 origin: Kestrel speaking prior-knowledge h2c only (no TLS, no upgrade), with
/// Grpc.AspNetCore's echo service and a plain <c>GET /</c> for load tools.
/// </summary>
internal static class Http2Origin
{
    public static Task<KestrelOrigin> StartAsync() => KestrelOrigin.StartAsync(
        HttpProtocols.Http2,
        app =>
        {
            app.MapGrpcService<EchoService>();
            app.MapGet("/", () => "hello over h2\n");
        },
        services => services.AddGrpc());
}
