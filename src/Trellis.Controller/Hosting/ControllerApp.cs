using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Trellis.Controller.Destination;
using Trellis.Controller.Identity;
using Trellis.Controller.Registry;
using Trellis.Controller.Tokens;

namespace Trellis.Controller.Hosting;

/// <summary>
/// Builds the controller: state (CA, token key, admin credential, VIPs) loaded or created first,
/// then one TLS HTTP/2 listener per address serving destination, identity and registry.
/// </summary>
public static class ControllerApp
{
    /// <summary>Builds the web application for <paramref name="options"/>; nothing listens until it runs.</summary>
    public static WebApplication Build(ControllerOptions options, TimeProvider time, string[]? args = null)
    {
        var ca = CertificateAuthority.LoadOrCreate(options.State, options.TrustDomain, time);
        var tokens = WorkloadTokens.LoadOrCreate(options.State, time);
        var admin = AdminCredential.LoadOrCreate(options.State);
        var serving = new ServingCertificates(ca, [.. options.Listen, IPAddress.Loopback], time);
        var registry = new HostsRegistry(options.PodRange, new ServiceAddressAllocator(options.ServiceRange, options.State.ServiceAddresses),
            options.LeaseDuration, options.TrustDomain, time, options.State.PodAddressCursor);

        var builder = WebApplication.CreateBuilder(args ?? []);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(ca);
        builder.Services.AddSingleton(tokens);
        builder.Services.AddSingleton(admin);
        builder.Services.AddSingleton(serving);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<IWorkloadRegistry>(registry);
        builder.Services.AddSingleton<IdentityLedger>();
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var address in options.Listen)
            {
                kestrel.Listen(address, options.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = static context => ValueTask.FromResult(((ServingCertificates)context.State!).Current),
                        OnConnectionState = serving,
                    });
                });
            }
        });

        var app = builder.Build();
        app.MapGrpcService<DestinationService>();
        app.MapGrpcService<IdentityService>();
        app.MapGrpcService<RegistryService>();
        return app;
    }
}
