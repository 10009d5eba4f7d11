using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// An in-process upstream on 127.0.0.1 speaking h2c only: the <see cref="EchoService"/> gRPC
/// service, and <c>GET /</c> answering "ok" for plain HTTP/2 clients such as h2load.
/// </summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, IPEndPoint endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    public EchoProbe Probe => _app.Services.GetRequiredService<EchoProbe>();

    public static async Task<GrpcTestServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<EchoProbe>();

        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGet("/", () => "ok");
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var uri = new Uri(address);
        return new GrpcTestServer(app, new IPEndPoint(IPAddress.Loopback, uri.Port));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
