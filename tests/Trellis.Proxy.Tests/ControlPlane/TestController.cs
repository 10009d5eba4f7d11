using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trellis.Api.Destination.V1;
using Trellis.Api.Identity.V1;

namespace Trellis.Proxy.Tests.ControlPlane;

/// <summary>
/// An in-process controller on Kestrel (127.0.0.1, HTTP/2 over TLS) serving destination and
/// identity from scripts the test drives. Stop kills it abruptly, as a crash would.
/// </summary>
public sealed class TestController : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestController(WebApplication app, int port, DestinationScript destinations, IdentityScript identity)
    {
        _app = app;
        Port = port;
        Destinations = destinations;
        Identity = identity;
    }

    public int Port { get; }

    public DestinationScript Destinations { get; }

    public IdentityScript Identity { get; }

    public static async Task<TestController> StartAsync(X509Certificate2 serverCertificate, X509Certificate2? intermediate, IdentityScript? identity = null, int port = 0)
    {
        var destinations = new DestinationScript();
        identity ??= new IdentityScript(null!, TimeProvider.System);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,
                ServerCertificateChain = intermediate is null ? null : [X509CertificateLoader.LoadCertificate(intermediate.RawData)],
            });
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(destinations);
        builder.Services.AddSingleton(identity);
        var app = builder.Build();
        app.MapGrpcService<ScriptedDestination>();
        app.MapGrpcService<ScriptedIdentity>();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestController(app, new Uri(address).Port, destinations, identity);
    }

    /// <summary>Stops at once: open streams are aborted, the port closes.</summary>
    public async Task KillAsync()
    {
        Destinations.Abort();
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}

public sealed class DestinationScript
{
    private readonly ConcurrentDictionary<string, Channel<Update>> _paths = new();
    private readonly CancellationTokenSource _abort = new();

    public ConcurrentQueue<GetDestination> Requests { get; } = new();

    public CancellationToken Aborted => _abort.Token;

    /// <summary>Queues an update for the stream(s) of <paramref name="path"/>; paths never scripted are unknown.</summary>
    public void Send(string path, Update update) => Channel(path).Writer.TryWrite(update);

    public bool IsScripted(string path) => _paths.ContainsKey(path);

    public Channel<Update> Channel(string path) => _paths.GetOrAdd(path, _ => System.Threading.Channels.Channel.CreateUnbounded<Update>());

    public void Abort() => _abort.Cancel();

    public static Update Add(IDictionary<string, string>? labels, params Endpoint[] endpoints)
    {
        var set = new EndpointSet();
        set.Endpoints.AddRange(endpoints);
        if (labels is not null)
            set.MetricLabels.Add(labels);
        return new Update { Add = set };
    }

    public static Update Remove(params IPEndPoint[] addresses)
    {
        var removed = new RemovedEndpoints();
        foreach (var address in addresses)
            removed.Addresses.Add(Address(address));
        return new Update { Remove = removed };
    }

    public static Endpoint Endpoint(IPEndPoint address, string? identity = null, ProtocolHint.Types.Protocol hint = ProtocolHint.Types.Protocol.Unknown, string? pod = null)
    {
        var endpoint = new Endpoint { Address = Address(address), Weight = 1 };
        if (identity is not null)
            endpoint.TlsIdentity = new TlsIdentity { SpiffeId = identity };
        endpoint.ProtocolHint = new ProtocolHint { Protocol = hint, InboundPort = 4143 };
        if (pod is not null)
            endpoint.MetricLabels.Add("dst_pod", pod);
        return endpoint;
    }

    public static TcpAddress Address(IPEndPoint address) =>
        new() { Ip = ByteString.CopyFrom(address.Address.GetAddressBytes()), Port = (uint)address.Port };
}

public sealed class ScriptedDestination(DestinationScript script) : Destination.DestinationBase
{
    public override async Task Get(GetDestination request, IServerStreamWriter<Update> responseStream, ServerCallContext context)
    {
        script.Requests.Enqueue(request);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, script.Aborted);
        if (!script.IsScripted(request.Path))
        {
            await responseStream.WriteAsync(new Update { NoEndpoints = new NoEndpoints { Exists = false } });
            await Task.Delay(Timeout.Infinite, both.Token);
            return;
        }

        await foreach (var update in script.Channel(request.Path).Reader.ReadAllAsync(both.Token))
            await responseStream.WriteAsync(update);
    }
}

public sealed class IdentityScript(TestPki pki, TimeProvider time)
{
    public ConcurrentQueue<CertifyRequest> Requests { get; } = new();

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(10);

    public string ValidToken { get; set; } = "good-token";

    /// <summary>Calls to refuse with UNAVAILABLE before answering again.</summary>
    public int FailNext { get; set; }

    /// <summary>Sign with this CA instead of the test issuer (an untrusted one, say).</summary>
    public X509Certificate2? Signer { get; set; }

    /// <summary>Return a certificate for a different key than the CSR's.</summary>
    public bool SwapKey { get; set; }

    public CertifyResponse Certify(CertifyRequest request)
    {
        Requests.Enqueue(request);
        if (FailNext > 0)
        {
            FailNext--;
            throw new RpcException(new Status(StatusCode.Unavailable, "scripted outage"));
        }
        if (request.Token != ValidToken)
            throw new RpcException(new Status(StatusCode.Unauthenticated, "bad token"));

        var csr = request.CertificateSigningRequest.ToByteArray();
        if (SwapKey)
        {
            using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            csr = Trellis.Proxy.ControlPlane.IdentityClient.BuildSigningRequest(other, request.Identity);
        }
        var now = time.GetUtcNow();
        using var leaf = pki.SignWorkload(csr, now, Lifetime, Signer);
        var response = new CertifyResponse
        {
            LeafCertificate = ByteString.CopyFrom(leaf.RawData),
            ValidUntil = Timestamp.FromDateTimeOffset(now + Lifetime),
        };
        response.IntermediateCertificates.Add(ByteString.CopyFrom((Signer ?? pki.Issuer).RawData));
        return response;
    }
}

public sealed class ScriptedIdentity(IdentityScript script) : Trellis.Api.Identity.V1.Identity.IdentityBase
{
    public override Task<CertifyResponse> Certify(CertifyRequest request, ServerCallContext context) =>
        Task.FromResult(script.Certify(request));
}
