using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;
using Yarp.ReverseProxy.Forwarder;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// Serves h2c (prior knowledge) client connections that the detection layer hands over, and
/// forwards every stream to its upstream endpoint over multiplexed, pooled HTTP/2 connections.
/// </summary>
/// <remarks>
/// Kestrel cannot pick HTTP/2 on a cleartext endpoint that also speaks HTTP/1, so the proxy
/// detects the preface itself and passes the already-accepted connection to an HTTP/2-only
/// <see cref="KestrelServer"/> through a hand-off transport. The server, the forwarder and the
/// upstream client are built on the first HTTP/2 connection: a proxy that never sees HTTP/2
/// never touches (and never pays resident memory for) their code and buffers.
/// </remarks>
public sealed class Http2Forwarder : IAsyncDisposable
{
    private readonly IDestinationResolver _resolver;
    private readonly ProxyMetrics _metrics;
    private readonly Http2Options _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IUpstreamConnector? _connector;
    private readonly UpstreamIdentities _identities = new();
    private readonly HandoffConnectionListener _listener = new();
    private readonly Lock _lock = new();
    private Task? _started;
    private KestrelServer? _server;
    private HttpMessageInvoker? _upstream;
    private ServiceProvider? _services;
    private bool _closed;

    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Http2Forwarder(
        IDestinationResolver resolver,
        ProxyMetrics metrics,
        Http2Options options,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IUpstreamConnector? connector = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();
        _resolver = resolver;
        _metrics = metrics;
        _options = options;
        _time = time;
        _loggerFactory = loggerFactory;
        _connector = connector;
    }

    /// <summary>
    /// Serves one client connection whose first bytes are the HTTP/2 preface (peeked, not
    /// consumed). Completes when the HTTP/2 server is done with it: the client closed it, it
    /// idled out, or a drain finished it. The caller keeps owning (and disposes) the socket.
    /// After <see cref="DrainAsync"/> a connection is aborted at once.
    /// </summary>
    /// <remarks>
    /// The peek must leave nothing examined (<c>AdvanceTo(buffer.Start)</c>): Kestrel sends its
    /// SETTINGS only after reading the preface, so if the preface were marked examined its read
    /// would wait for bytes a client that already sent everything will never send.
    /// </remarks>
    public async Task ServeAsync(ProxyConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var started = EnsureStarted();
        if (started is null)
        {
            connection.Context.Abort();
            return;
        }

        await started;
        var handoff = new HandoffConnectionContext(connection);
        if (!_listener.Enqueue(handoff))
        {
            connection.Context.Abort();
            return;
        }

        await handoff.Done;
    }

    /// <summary>
    /// Graceful shutdown: stop taking connections, send GOAWAY, let in-flight streams finish;
    /// when <paramref name="cancellationToken"/> fires, abort what is left.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        KestrelServer? server;
        lock (_lock)
        {
            _closed = true;
            server = _server;
        }

        if (server is null)
        {
            await _listener.DisposeAsync();
            return;
        }

        await AwaitStartAsync();
        await server.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(new CancellationToken(canceled: true));
        _server?.Dispose();
        _upstream?.Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    /// <summary>Starts the server on first use; null once draining.</summary>
    private Task? EnsureStarted()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return null;
            }

            return _started ??= StartAsync();
        }
    }

    private async Task AwaitStartAsync()
    {
        try
        {
            await (_started ?? Task.CompletedTask);
        }
        catch (Exception) when (_started is { IsFaulted: true })
        {
            // A failed start already failed the ServeAsync calls that triggered it.
        }
    }

    // Called under _lock.
    private Task StartAsync()
    {
        // YARP's forwarder is internal and only reachable through DI: the smallest container
        // that can build it holds the logger factory, the clock and AddHttpForwarder's types.
        var services = new ServiceCollection();
        services.AddSingleton(_loggerFactory);
        services.AddSingleton(_time);
        services.AddLogging();
        services.AddHttpForwarder();
        _services = services.BuildServiceProvider();

        _upstream = new HttpMessageInvoker(CreateUpstreamHandler(_options, _connector, _identities), disposeHandler: true);
        var requestConfig = new ForwarderRequestConfig
        {
            ActivityTimeout = _options.ResponseIdleTimeout,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var application = new Http2ForwardingApplication(
            _services.GetRequiredService<IHttpForwarder>(), _upstream, requestConfig, _resolver, _identities, _metrics, _time,
            _loggerFactory.CreateLogger("Trellis.Proxy.Http.Http2"));

        _server = new KestrelServer(Options.Create(CreateServerOptions(_options, _services)), _listener, _loggerFactory);
        return _server.StartAsync(application, CancellationToken.None);
    }

    private static KestrelServerOptions CreateServerOptions(Http2Options options, IServiceProvider services)
    {
        var server = new KestrelServerOptions { AddServerHeader = false, ApplicationServices = services };

        // A proxy carries long gRPC streams and large bodies: the application and the upstream
        // set the limits, not the proxy.
        server.Limits.MaxRequestBodySize = null;
        server.Limits.MinRequestBodyDataRate = null;
        server.Limits.MinResponseDataRate = null;
        server.Limits.KeepAliveTimeout = options.ClientIdleTimeout;
        server.Limits.Http2.MaxStreamsPerConnection = options.MaxConcurrentStreams;
        server.Listen(HandoffEndPoint.Instance, listen => listen.Protocols = HttpProtocols.Http2);
        return server;
    }

    /// <summary>
    /// With a connector, upstream connections are dialled through it: metered like every other
    /// upstream, and upgraded to mTLS for endpoints discovery named with a mesh identity.
    /// SocketsHttpHandler still pools by the request URI's IP:port, so identities are looked up
    /// by that address.
    /// </summary>
    private static SocketsHttpHandler CreateUpstreamHandler(Http2Options options, IUpstreamConnector? connector, UpstreamIdentities identities)
    {
        var handler = CreateUpstreamHandler(options);
        if (connector is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var address = new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port);
                var endpoint = new UpstreamEndpoint(address) { Identity = identities.Find(address) };
                var connection = await connector.ConnectAsync(endpoint, cancellationToken);
                return new DuplexPipeStream(connection.Transport, connection);
            };
        }

        return handler;
    }

    private static SocketsHttpHandler CreateUpstreamHandler(Http2Options options) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,

        // No traceparent of our own: the mesh forwards the application's headers unchanged.
        ActivityHeadersPropagator = null,

        // Many concurrent streams to one endpoint open further connections instead of queueing.
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = options.ConnectTimeout,
        PooledConnectionIdleTimeout = options.UpstreamIdleTimeout,
    };
}
