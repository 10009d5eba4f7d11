using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Admin;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Inbound;
using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Multiplexing;
using Trellis.Proxy.Outbound;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// The composition root: builds the shared services, both sides' stacks, their listeners and
/// the admin server; starts them; and runs the graceful shutdown (stop accepting, drain
/// in-flight work up to the deadline, close what is left).
/// </summary>
public sealed partial class ProxyHost : IAsyncDisposable
{
    private readonly ProxyOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyState _state = new();
    private readonly ConnectionTracker _tracker = new();
    private readonly TaskCompletionSource _shutdownRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly MeshSetup _mesh;
    private readonly ProxyStack _outboundStack;
    private readonly ProxyStack _inboundStack;
    private readonly ProxyListener _outbound;
    private readonly ProxyListener _inbound;
    private readonly AdminServer _admin;
    private readonly MultiplexedMeshConnector? _tunnels;
    private IdleMemoryRelease? _idleMemoryRelease;

    /// <exception cref="Identity.IdentityLoadException">The identity files are missing or invalid.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">A listener cannot bind.</exception>
    public ProxyHost(ProxyOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _options = options;
        _time = time;
        _logger = loggerFactory.CreateLogger("trellis.proxy");
        Metrics = new ProxyMetrics(new MetricsRegistry());
        _mesh = MeshSetup.Create(options, time, loggerFactory);

        IUpstreamConnector dialer = new SocketUpstreamConnector(options.ConnectTimeout);
        var http1Dialer = dialer;
        if (_mesh.Identity is { } identity)
        {
            var meshTls = new MeshTlsConnector(dialer, identity, time, loggerFactory.CreateLogger<MeshTlsConnector>());

            // HTTP/1 to a meshed peer travels as tunnels on one shared mTLS connection per peer.
            _tunnels = new MultiplexedMeshConnector(meshTls, time, new Http1Options().UpstreamIdleTimeout);
            http1Dialer = new MeshAwareConnector(dialer, _tunnels);
            dialer = new MeshAwareConnector(dialer, meshTls);
        }

        // Outbound asks discovery where traffic goes; inbound always delivers to the local app.
        _outboundStack = OutboundStack.Build(Components(TrafficDirection.Outbound, _mesh.OutboundResolver, dialer, http1Dialer, loggerFactory));
        _inboundStack = InboundStack.Build(Components(TrafficDirection.Inbound, new TargetAddressResolver(), dialer, http1Dialer, loggerFactory));

        _outbound = new ProxyListener(options.OutboundListen, TrafficDirection.Outbound, OutboundTarget, _outboundStack.Handler, _tracker, _logger);
        _inbound = new ProxyListener(options.InboundListen, TrafficDirection.Inbound, InboundTarget, _inboundStack.Handler, _tracker, _logger);
        _admin = new AdminServer(options.AdminListen, new AdminApplication(Metrics.Registry, _state, RequestShutdown), loggerFactory);
    }

    public ProxyMetrics Metrics { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _outbound.Start();
        _inbound.Start();
        await _admin.StartAsync(cancellationToken);
        // With an identity at hand (files, or none) this marks the proxy ready before it says it started.
        _ = MarkReadyWhenIdentifiedAsync();
        LogStarted(_logger, _outbound.LocalEndPoint, _inbound.LocalEndPoint, _admin.LocalEndPoint ?? _options.AdminListen);
    }

    /// <summary>Asks for a graceful shutdown (SIGTERM, SIGINT or POST /shutdown).</summary>
    public void RequestShutdown() => _shutdownRequested.TrySetResult();

    public Task ShutdownRequested => _shutdownRequested.Task;

    /// <summary>Stops accepting, lets in-flight work finish up to the drain deadline, then closes the rest.</summary>
    public async Task StopAsync()
    {
        // Listeners first: once /ready says draining, a new connection must already be refused.
        await _outbound.DisposeAsync();
        await _inbound.DisposeAsync();
        _state.MarkDraining();
        LogDraining(_logger, _tracker.Count, _options.DrainTimeout);
        using var deadline = new CancellationTokenSource(_options.DrainTimeout, _time);
        await Task.WhenAll(
            _outboundStack.DrainAsync(deadline.Token),
            _inboundStack.DrainAsync(deadline.Token),
            _tracker.DrainAsync(_options.DrainTimeout, _time));
        LogStopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _outbound.DisposeAsync();
        await _inbound.DisposeAsync();
        await _outboundStack.DisposeAsync();
        await _inboundStack.DisposeAsync();
        if (_tunnels is not null)
        {
            await _tunnels.DisposeAsync();
        }

        await _admin.DisposeAsync();
        _idleMemoryRelease?.Dispose();
        await _mesh.DisposeAsync();
        _tracker.Dispose();
    }

    /// <summary>Ready once listening and, with a control-plane identity, once it is certified.</summary>
    private async Task MarkReadyWhenIdentifiedAsync()
    {
        try
        {
            await _mesh.IdentityReady;
            ReleaseStartupMemory();
            if (_options.IdleMemoryRelease > TimeSpan.Zero)
            {
                _idleMemoryRelease = new IdleMemoryRelease(_options.IdleMemoryRelease, TrafficSeen, ReleaseIdleMemory, _time);
            }

            _state.MarkListening();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogIdentityFailed(_logger, e.Message);
        }
    }

    /// <summary>
    /// Start-up (flags, identity and trust anchors, the stacks, the listeners) allocates ~3.4 MB of
    /// which ~0.6 MB stays live, and by the time the proxy is ready the workstation GC has collected
    /// once at most: what it allocated stays committed, and the connections that come later are
    /// allocated around it. One aggressive collection (full, blocking, compacting, decommitting what
    /// it frees) before the proxy says it is ready returns that memory to the system. Measured on the
    /// benchmark's meshed pair: 7.7 -> 5.7 MB anonymous idle, 11.1 -> 10.0 MB at peak. It costs one
    /// pause over a heap of ~0.6 MB live, once, before the proxy reports ready. Then the pages only
    /// start-up read: the binary's dehydrated data, read once before Main, which also leaves the page
    /// cache (<see cref="DehydratedData"/>), and every clean page of code and constants, which the
    /// proxy faults back in as it runs them (<see cref="StartupPages"/>). The collection goes first:
    /// it runs code too.
    /// </summary>
    private void ReleaseStartupMemory()
    {
        CollectAndDecommit();
        var dehydrated = DehydratedData.Release();
        LogStartupMemoryReleased(_logger, dehydrated / 1024, StartupPages.Release() / 1024);
    }

    /// <summary>
    /// What a quiet proxy gives back (<see cref="IdleMemoryRelease"/>): the socket pool's free blocks,
    /// then the same collection as at start-up, which reclaims them with everything else the traffic
    /// left, then the C heap's free pages and the code and constants not run since the last release.
    /// Measured on the benchmark's meshed pair after <c>wrk -c20</c> for 5 s, the client-side proxy:
    /// 17.2 MB (8.7 anonymous) without it; 10.4-10.6 MB (7.1) once its pooled mesh connections had closed
    /// and it had gone quiet again (docs/performance.md, "Idle release").
    /// </summary>
    private void ReleaseIdleMemory()
    {
        var blocks = PinnedBlockPool.Sockets.Trim();
        CollectAndDecommit();
        NativeHeap.Trim();
        LogIdleMemoryReleased(_logger, blocks * (PinnedBlockPool.BlockSize / 1024), StartupPages.Release() / 1024);
    }

    /// <summary>
    /// A full, blocking, compacting collection that also decommits what it frees; then the
    /// finalizers it queued, then a second collection for what they let go.
    /// </summary>
    /// <remarks>
    /// Closed TLS connections leave OpenSSL handles (peer certificates, keys) to their finalizers.
    /// Run on the finalizer thread after the collection returns, they raced the release of code
    /// pages that follows it and faulted libcrypto back in: a quiet client-side proxy measured
    /// 1.4 MB more libcrypto resident in some runs (perf's page-fault stacks: X509_free,
    /// EC_KEY_free, ASN1_OBJECT_free under SafeHandle finalizers, after the release).
    /// </remarks>
    private static void CollectAndDecommit()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>Moves whenever either side opens or closes a connection or reads a byte.</summary>
    private long TrafficSeen() =>
        Metrics.TcpOpenTotal.Total() + Metrics.TcpCloseTotal.Total() + Metrics.TcpReadBytesTotal.Total()
        + (_tunnels?.ConnectionsOpenedOrClosed ?? 0);

    private ProxyComponents Components(
        TrafficDirection direction, IDestinationResolver resolver, IUpstreamConnector dialer, IUpstreamConnector http1Dialer, ILoggerFactory loggerFactory) =>
        new(
            _options,
            direction,
            resolver,
            new MeteredUpstreamConnector(dialer, Metrics, direction),
            new MeteredUpstreamConnector(http1Dialer, Metrics, direction),
            _mesh.Identity,
            Metrics,
            _tracker,
            _time,
            loggerFactory);

    /// <summary>
    /// The static destination when one is configured; else where iptables says the app was
    /// going. A connection that reached the listener directly (its "original destination" is
    /// the listener itself) is refused: forwarding it would loop back into the proxy.
    /// </summary>
    private IPEndPoint? OutboundTarget(Socket socket)
    {
        if (_options.OutboundDestination is { } destination)
        {
            return destination;
        }

        var original = OriginalDestination.Read(socket);
        return original is null || original.Equals(socket.LocalEndPoint) ? null : original;
    }

    /// <summary>The static destination, else the application on loopback at the port the caller dialled.</summary>
    private IPEndPoint? InboundTarget(Socket socket)
    {
        if (_options.InboundDestination is { } destination)
        {
            return destination;
        }

        var original = OriginalDestination.Read(socket);
        return original is null || original.Equals(socket.LocalEndPoint) ? null : new IPEndPoint(IPAddress.Loopback, original.Port);
    }

    [LoggerMessage(30, LogLevel.Information, "proxy started: outbound {Outbound}, inbound {Inbound}, admin {Admin}")]
    private static partial void LogStarted(ILogger logger, IPEndPoint outbound, IPEndPoint inbound, IPEndPoint admin);

    [LoggerMessage(31, LogLevel.Information, "shutting down: draining {Connections} connections for up to {Deadline}")]
    private static partial void LogDraining(ILogger logger, int connections, TimeSpan deadline);

    [LoggerMessage(32, LogLevel.Information, "proxy stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(33, LogLevel.Error, "no mesh identity: {Reason}; the proxy stays not ready")]
    private static partial void LogIdentityFailed(ILogger logger, string reason);

    [LoggerMessage(34, LogLevel.Debug, "released {Dehydrated} kB of the binary's start-up data and {Pages} kB of start-up code and constants")]
    private static partial void LogStartupMemoryReleased(ILogger logger, long dehydrated, long pages);

    [LoggerMessage(35, LogLevel.Debug, "quiet: released {Blocks} kB of free socket buffers and {Pages} kB of code and constants")]
    private static partial void LogIdleMemoryReleased(ILogger logger, long blocks, long pages);
}
