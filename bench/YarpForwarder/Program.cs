using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Yarp.ReverseProxy.Forwarder;

// A minimal Yarp.ReverseProxy forwarder for the benchmark's `yarp` setup: one listener, one
// destination, MapForwarder with YARP's default transforms, optional mutual TLS on either side.
// Usage: YarpForwarder --listen 127.0.0.1:PORT --protocol h1|h2 --destination URL
//                      [--tls-dir DIR] [--upstream-tls-dir DIR]   (DIR holds tls.crt, tls.key, ca.crt)
var options = ParseArguments(args);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Services.AddHttpForwarder();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(options.Listen, listen =>
    {
        listen.Protocols = options.Http2 ? HttpProtocols.Http2 : HttpProtocols.Http1;
        if (options.TlsDir is { } dir)
        {
            var (certificate, anchor) = LoadIdentity(dir);
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (client, _, _) => ChainsTo(client, anchor),
            });
        }
    });
});

var handler = new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    EnableMultipleHttp2Connections = true,
    ConnectTimeout = TimeSpan.FromSeconds(5),
};
if (options.UpstreamTlsDir is { } upstream)
{
    var (certificate, anchor) = LoadIdentity(upstream);
    handler.SslOptions = new SslClientAuthenticationOptions
    {
        ClientCertificates = [certificate],
        RemoteCertificateValidationCallback = (_, server, _, _) => server is X509Certificate2 s && ChainsTo(s, anchor),
    };
}
var client = new HttpMessageInvoker(handler);
var requestConfig = new ForwarderRequestConfig
{
    Version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
};

var app = builder.Build();
app.MapForwarder("/{**catch-all}", options.Destination, requestConfig, HttpTransformer.Default, client);
await app.RunAsync();
return 0;

static (X509Certificate2 Certificate, X509Certificate2 Anchor) LoadIdentity(string dir)
{
    var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
    var anchor = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "ca.crt"));
    return (certificate, anchor);
}

// Trust exactly the run's CA, as the other setups do (no system store, no hostname games).
static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 anchor)
{
    using var chain = new X509Chain();
    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
    chain.ChainPolicy.CustomTrustStore.Add(anchor);
    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
    return chain.Build(certificate);
}

static ForwarderOptions ParseArguments(string[] args)
{
    string? listen = null, protocol = null, destination = null, tlsDir = null, upstreamTlsDir = null;
    for (var i = 0; i < args.Length; i++)
    {
        var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--listen": listen = value; break;
            case "--protocol": protocol = value; break;
            case "--destination": destination = value; break;
            case "--tls-dir": tlsDir = value; break;
            case "--upstream-tls-dir": upstreamTlsDir = value; break;
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
        i++;
    }
    if (listen is null || !IPEndPoint.TryParse(listen, out var endpoint))
    {
        throw new ArgumentException("--listen ADDR:PORT is required");
    }
    if (protocol is not ("h1" or "h2"))
    {
        throw new ArgumentException("--protocol must be h1 or h2");
    }
    if (destination is null || !Uri.TryCreate(destination, UriKind.Absolute, out _))
    {
        throw new ArgumentException("--destination URL is required");
    }
    return new ForwarderOptions(endpoint, protocol == "h2", destination, tlsDir, upstreamTlsDir);
}

internal sealed record ForwarderOptions(IPEndPoint Listen, bool Http2, string Destination, string? TlsDir, string? UpstreamTlsDir);
