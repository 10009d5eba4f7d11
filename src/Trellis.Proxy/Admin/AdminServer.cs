using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Trellis.Proxy.Admin;

/// <summary>
/// The admin listener (4191): <c>/metrics</c>, <c>/ready</c>, <c>/live</c>, <c>/shutdown</c>.
/// A bare <see cref="KestrelServer"/> with a feature-level application: no hosting stack, no
/// HttpContext pipeline, since the proxy's idle memory budget is a few megabytes.
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private readonly KestrelServer _server;
    private readonly AdminApplication _application;
    private readonly ServiceProvider _services;

    public AdminServer(IPEndPoint endpoint, AdminApplication application, ILoggerFactory loggerFactory)
    {
        _application = application;
        _services = new ServiceCollection().AddSingleton(loggerFactory).BuildServiceProvider();
        var options = new KestrelServerOptions { ApplicationServices = _services, AddServerHeader = false };
        options.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggerFactory);
        _server = new KestrelServer(Options.Create(options), transport, loggerFactory);
    }

    /// <summary>The bound address; the port is real even when 0 was asked for.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _server.StartAsync(_application, cancellationToken);
        var address = _server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            LocalEndPoint = new IPEndPoint(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _server.StopAsync(timeout.Token);
        _server.Dispose();
        await _services.DisposeAsync();
    }
}
