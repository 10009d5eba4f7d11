using System.Collections.Frozen;
using System.Net;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Trellis.Api.Destination.V1;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Discovery;
using ApiProtocol = Trellis.Api.Destination.V1.ProtocolHint.Types.Protocol;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// One destination's <c>Get</c> stream and the balancer it feeds. When the stream breaks the
/// balancer keeps the last known endpoints (availability over freshness) while the watch
/// reconnects with jittered exponential backoff; the first update of a new stream is a full
/// set and replaces what was known.
/// </summary>
public sealed class DestinationWatch : IAsyncDisposable
{
    private readonly Destination.DestinationClient _grpc;
    private readonly DestinationClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Touched only by the stream loop.
    private readonly Dictionary<IPEndPoint, Endpoint> _endpoints = [];
    private IReadOnlyDictionary<string, string> _destinationLabels = FrozenDictionary<string, string>.Empty;
    private Task _loop = Task.CompletedTask;
    private long _lastUsed;
    private volatile DestinationState _state;
    private volatile bool _connected;
    private int _consecutiveFailures;
    private int _streamsOpened;

    internal DestinationWatch(
        string path,
        Destination.DestinationClient grpc,
        DestinationClientOptions options,
        PeakEwmaBalancer<DestinationEndpoint> balancer,
        TimeProvider time,
        Random random,
        ILogger logger)
    {
        Path = path;
        _grpc = grpc;
        _options = options;
        Balancer = balancer;
        _time = time;
        _random = random;
        _logger = logger;
        _lastUsed = time.GetTimestamp();
    }

    /// <summary>The destination path asked for (<c>name.ns.svc.cluster.local:port</c> or <c>ip:port</c>).</summary>
    public string Path { get; }

    public PeakEwmaBalancer<DestinationEndpoint> Balancer { get; }

    public DestinationState State => _state;

    /// <summary>True while a stream is open and has delivered its first update.</summary>
    public bool Connected => _connected;

    /// <summary>Stream attempts that failed in a row (0 while connected).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Streams that delivered at least one update, over the watch's life.</summary>
    public int StreamsOpened => Volatile.Read(ref _streamsOpened);

    /// <summary>Completes at the first answer, or the first failure to get one (so callers stop waiting).</summary>
    public Task Ready => _ready.Task;

    internal long LastUsed => Volatile.Read(ref _lastUsed);

    internal void Touch() => Volatile.Write(ref _lastUsed, _time.GetTimestamp());

    internal void Start() => _loop = Task.Run(RunAsync);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var request = new GetDestination { Path = Path, ContextToken = _options.ContextToken };
        var attempt = 0;
        while (!_stop.IsCancellationRequested)
        {
            var received = false;
            RpcException? failure = null;
            try
            {
                using var call = _grpc.Get(request, cancellationToken: _stop.Token);
                var stream = call.ResponseStream;
                while (await stream.MoveNext(_stop.Token))
                {
                    Apply(stream.Current, firstOnStream: !received);
                    if (!received)
                    {
                        received = true;
                        attempt = 0;
                        _connected = true;
                        Volatile.Write(ref _consecutiveFailures, 0);
                        Interlocked.Increment(ref _streamsOpened);
                        ControlPlaneLog.StreamOpened(_logger, Path);
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e)
            {
                failure = e;
            }
            catch (Exception e)
            {
                failure = new RpcException(new Status(StatusCode.Internal, e.Message, e));
            }

            _connected = false;
            if (failure is not null && !received)
                Interlocked.Increment(ref _consecutiveFailures);
            if (failure?.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument && _state == DestinationState.Pending)
                _state = DestinationState.Unknown;
            _ready.TrySetResult();

            var delay = _options.Backoff.Delay(attempt++, _random);
            if (failure is null)
                ControlPlaneLog.StreamEnded(_logger, Path, delay);
            else
                ControlPlaneLog.StreamFailed(_logger, Path, failure.StatusCode, failure.Status.Detail, delay);

            try
            {
                await Task.Delay(delay, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Apply(Update update, bool firstOnStream)
    {
        if (update.UpdateCase == Update.UpdateOneofCase.None)
            return; // an update kind from a newer controller: nothing this proxy can apply

        // A new stream starts with the full state; what was known before is replaced by it.
        if (firstOnStream)
            _endpoints.Clear();

        switch (update.UpdateCase)
        {
            case Update.UpdateOneofCase.Add:
                if (update.Add.MetricLabels.Count > 0)
                    _destinationLabels = update.Add.MetricLabels.ToFrozenDictionary(StringComparer.Ordinal);
                foreach (var endpoint in update.Add.Endpoints)
                {
                    if (TryAddress(endpoint.Address, out var address))
                        _endpoints[address] = endpoint;
                    else
                        ControlPlaneLog.InvalidAddress(_logger, Path, endpoint.Address?.Ip.Length ?? 0, endpoint.Address?.Port ?? 0);
                }
                _state = DestinationState.Endpoints;
                break;
            case Update.UpdateOneofCase.Remove:
                foreach (var removed in update.Remove.Addresses)
                {
                    if (TryAddress(removed, out var address))
                        _endpoints.Remove(address);
                }
                if (_state == DestinationState.Pending)
                    _state = DestinationState.Endpoints;
                break;
            case Update.UpdateOneofCase.NoEndpoints:
                _endpoints.Clear();
                _state = update.NoEndpoints.Exists ? DestinationState.NoEndpoints : DestinationState.Unknown;
                break;
        }

        Publish();
        _ready.TrySetResult();
    }

    private void Publish()
    {
        var targets = new BalancerTarget<DestinationEndpoint>[_endpoints.Count];
        var i = 0;
        foreach (var (address, endpoint) in _endpoints)
            targets[i++] = new BalancerTarget<DestinationEndpoint>(address, endpoint.Weight, Describe(endpoint));
        Balancer.SetEndpoints(targets);
        ControlPlaneLog.EndpointsUpdated(_logger, Path, targets.Length, _state);
    }

    private DestinationEndpoint Describe(Endpoint endpoint)
    {
        var labels = new Dictionary<string, string>(_destinationLabels, StringComparer.Ordinal);
        foreach (var (key, value) in endpoint.MetricLabels)
            labels[key] = value;

        var identity = endpoint.TlsIdentity?.SpiffeId;
        var hint = endpoint.ProtocolHint?.Protocol switch
        {
            ApiProtocol.H2 => Discovery.ProtocolHint.Http2,
            ApiProtocol.Opaque => Discovery.ProtocolHint.Opaque,
            _ => Discovery.ProtocolHint.Unknown,
        };
        return new DestinationEndpoint(string.IsNullOrEmpty(identity) ? null : identity, hint, labels.ToFrozenDictionary(StringComparer.Ordinal));
    }

    private static bool TryAddress(TcpAddress? address, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (address is null || address.Ip.Length is not (4 or 16) || address.Port is 0 or > 65535)
            return false;
        endpoint = new IPEndPoint(new IPAddress(address.Ip.Span), (int)address.Port);
        return true;
    }
}
