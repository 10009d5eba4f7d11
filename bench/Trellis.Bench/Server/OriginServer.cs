using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Trellis.Bench.Server;

/// <summary>
/// The origin every setup ends at: HTTP/1.1 `GET /` with a small fixed body on one port, and the
/// gRPC echo over h2c on another. Two ports because Kestrel answers an h2c preface on a cleartext
/// Http1AndHttp2 endpoint with HTTP_1_1_REQUIRED; each benchmark phase uses one protocol anyway.
/// </summary>
internal static class OriginServer
{
    /// <summary>The HTTP/1.1 response body: small, like a health or lookup answer.</summary>
    public static readonly byte[] Body = "hello from the trellis bench origin\n"u8.ToArray();

    public static async Task<int> RunAsync(int http1Port, int grpcPort, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxConcurrentConnections = null;
            options.Limits.Http2.MaxStreamsPerConnection = 1000;
            options.Listen(IPAddress.Loopback, http1Port, listen => listen.Protocols = HttpProtocols.Http1);
            options.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapGet("/", static (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = Body.Length;
            return context.Response.Body.WriteAsync(Body).AsTask();
        });
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"origin ready http1={http1Port} grpc={grpcPort}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopped by the orchestrator (SIGTERM) or its own time bound.
        }
        await app.StopAsync(CancellationToken.None);
        return 0;
    }
}
