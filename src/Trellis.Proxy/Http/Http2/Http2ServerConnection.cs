using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The client-facing end of the relay: one h2c connection from an application (or a peer
/// proxy), whose streams become <see cref="Http2Exchange"/>s. It checks the preface, sends its
/// SETTINGS (and a 1 MiB connection window), and enforces the client's side of RFC 9113: odd,
/// increasing stream ids, the concurrency limit (REFUSED_STREAM beyond it) and the request
/// header rules (PROTOCOL_ERROR). An idle connection gets a GOAWAY; a drain announces one, names
/// the last stream once the client has seen the announcement, and closes when the last stream is
/// done.
/// </summary>
internal sealed class Http2ServerConnection : Http2Connection
{
    /// <summary>The stream window advertised to clients (the protocol's default, stated explicitly).</summary>
    public const int ClientStreamWindow = StreamWindow;

    /// <summary>
    /// How long a drain waits for the client to acknowledge the GOAWAY announcement before it
    /// names the last stream anyway: a round trip, with room for a busy client.
    /// </summary>
    private static readonly TimeSpan GoAwayAnnouncementTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The PING that follows the GOAWAY announcement; any value the relay never sends otherwise.</summary>
    private const ulong GoAwayPingOpaque = 0x74726c73_676f6177;

    private const int NotDraining = 0;
    private const int GoAwayAnnounced = 1;
    private const int GoAwaySent = 2;

    private readonly ITimer _timer;
    private readonly Lock _goAwayLock = new();
    private readonly Http2ClosedStreams _closedStreams;
    private readonly long _clientIdleTicks;
    private int _highestStreamId;
    private int _goAwayStreamId = int.MaxValue;
    private int _drainState;
    private ITimer? _announcementTimer;
    private volatile bool _started;
    private long _idleSince;
    private HttpRouteMetrics? _route;
    private string? _routeAuthority;

    public Http2ServerConnection(Http2RelayContext context, ProxyConnection connection)
        : base(context, connection.Context)
    {
        Connection = connection;
        _idleSince = context.Time.GetTimestamp();
        // Twice the streams that can be open at once: a closed stream's id stays known while
        // at least as many newer streams have come and gone.
        _closedStreams = new Http2ClosedStreams(2 * context.Options.MaxConcurrentStreams);
        _clientIdleTicks = (long)(context.Options.ClientIdleTimeout.TotalSeconds * context.Time.TimestampFrequency);

        // One timer per connection checks both the idle connection and idle exchanges.
        var period = context.Options.ClientIdleTimeout / 4;
        if (context.ResponseIdleTimeoutTicks != 0 && context.Options.ResponseIdleTimeout / 4 < period)
        {
            period = context.Options.ResponseIdleTimeout / 4;
        }

        _timer = context.Time.CreateTimer(static state => ((Http2ServerConnection)state!).OnTimer(), this, period, period);
    }

    public ProxyConnection Connection { get; }

    protected override int LastProcessedStreamId => Volatile.Read(ref _highestStreamId);

    protected override string Side => "client";

    /// <summary>Serves the connection until the client closes it, an error, an idle timeout or a drain.</summary>
    public async Task RunAsync()
    {
        try
        {
            if (!await Http2FrameReader.ReadClientPrefaceAsync(Input))
            {
                // Not HTTP/2 after all: close without a GOAWAY the client would not understand.
                await ShutdownAsync();
                return;
            }

            ReadOnlyMemory<(Http2SettingId, uint)> settings = new[]
            {
                (Http2SettingId.MaxConcurrentStreams, (uint)Context.Options.MaxConcurrentStreams),
                (Http2SettingId.InitialWindowSize, (uint)ClientStreamWindow),
                (Http2SettingId.MaxHeaderListSize, (uint)MaxHeaderListSize),
            };
            await WritePrefaceAsync(client: false, settings);
            _started = true;
            await RunReadLoopAsync();
        }
        finally
        {
            await _timer.DisposeAsync();
            if (Volatile.Read(ref _announcementTimer) is { } announcementTimer)
            {
                await announcementTimer.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Graceful shutdown (RFC 9113 §6.8), in two steps so that no request is lost on the way: a
    /// GOAWAY with the highest possible stream id and a PING announce it; once the PING comes back
    /// every stream the client opened before it saw the announcement has arrived, and a second
    /// GOAWAY names the last one taken. Later streams are refused and safe for the client to
    /// retry elsewhere; streams in flight finish, then the connection closes.
    /// </summary>
    public async ValueTask DrainAsync()
    {
        if (!_started)
        {
            // No SETTINGS sent yet, so no GOAWAY may follow: just close.
            Close(null);
            return;
        }

        await EnterAsync();
        try
        {
            if (_drainState != NotDraining)
            {
                return;
            }

            Volatile.Write(ref _drainState, GoAwayAnnounced);
            WriteGoAway(int.MaxValue, Http2ErrorCode.NoError);
            WritePing(GoAwayPingOpaque, ack: false);
        }
        finally
        {
            await ExitAsync(null);
        }

        // A client that never answers the PING still gets the final GOAWAY.
        var timer = Context.Time.CreateTimer(
            static state => _ = ((Http2ServerConnection)state!).SendFinalGoAwayAsync().AsTask(), this, GoAwayAnnouncementTimeout, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _announcementTimer, timer);
    }

    protected override ValueTask OnPingAckAsync(ulong opaque) =>
        opaque == GoAwayPingOpaque ? SendFinalGoAwayAsync() : default;

    private async ValueTask SendFinalGoAwayAsync()
    {
        await EnterAsync();
        try
        {
            if (_drainState != GoAwayAnnounced)
            {
                return;
            }

            int lastStreamId;
            lock (_goAwayLock)
            {
                lastStreamId = _goAwayStreamId = LastProcessedStreamId;
            }

            WriteGoAway(lastStreamId, Http2ErrorCode.NoError);
            Volatile.Write(ref _drainState, GoAwaySent);
        }
        finally
        {
            await ExitAsync(null);
        }

        if (StreamCount == 0)
        {
            Close(null);
        }
    }

    // The relay never pushes, so an even stream is never opened.
    protected override bool IsIdle(int streamId) => streamId % 2 == 0 || streamId > LastProcessedStreamId;

    protected override void OnGoAway(int lastStreamId, Http2ErrorCode code)
    {
        // The client opens no more streams; those in flight finish, then it closes.
    }

    protected override void OnStreamRemoved(int streamId, int remaining)
    {
        _closedStreams.Add(streamId);
        if (remaining == 0)
        {
            Volatile.Write(ref _idleSince, Context.Time.GetTimestamp());
            if (Volatile.Read(ref _drainState) == GoAwaySent)
            {
                Close(null);
            }
        }
    }

    protected override ValueTask OnStreamLostAsync(Http2Stream stream) => stream.Exchange.OnConnectionLostAsync(stream, "client connection closed");

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    protected override async ValueTask OnHeadersAsync(int streamId, bool endStream, List<HeaderField> headers, Http2FlushBatch batch)
    {
        var stream = FindStream(streamId);
        if (stream is not null)
        {
            await stream.Exchange.OnRequestTrailersAsync(headers, endStream, batch);
            return;
        }

        if (streamId % 2 == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "client stream ids are odd");
        }

        if (streamId <= _highestStreamId)
        {
            // A stream the relay finished or reset while the client's frames for it were on the
            // way is ignored (RFC 9113 §5.1 "closed"); any other lower id is one the client
            // skipped or reuses, which §5.1.1 makes a connection error.
            if (!_closedStreams.Contains(streamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"stream id {streamId} is not above the last one opened ({_highestStreamId})");
            }

            return;
        }

        bool beyondGoAway;
        lock (_goAwayLock)
        {
            // With the final GOAWAY's choice under the same lock: a stream is taken exactly when
            // its id is at most the last stream id that GOAWAY names.
            Volatile.Write(ref _highestStreamId, streamId);
            beyondGoAway = streamId > _goAwayStreamId;
        }

        if (beyondGoAway || StreamCount >= Context.Options.MaxConcurrentStreams)
        {
            _closedStreams.Add(streamId);
            await ResetAsync(streamId, Http2ErrorCode.RefusedStream, batch);
            return;
        }

        if (!Http2Headers.TryReadRequest(headers, out var request))
        {
            _closedStreams.Add(streamId);
            await ResetAsync(streamId, Http2ErrorCode.ProtocolError, batch);
            return;
        }

        if (request.IsConnect)
        {
            _closedStreams.Add(streamId);
            await RespondAsync(streamId, Http2ErrorResponses.MethodNotAllowed, resetAfter: !endStream, batch);
            return;
        }

        var route = RouteMetrics(request.Authority ?? string.Empty);
        route.Requests.Increment();
        var exchange = new Http2Exchange(Context, this, streamId, PeerSettings.InitialWindowSize, route, request);
        exchange.UpstreamStream.PendingEnd = endStream;
        exchange.ClientStream.RemoteEnded = endStream;
        AddStream(exchange.ClientStream);

        var acquiring = exchange.AcquireAsync();
        if (acquiring.IsCompletedSuccessfully)
        {
            await exchange.OpenAsync(acquiring.Result, headers, batch);
        }
        else
        {
            // Discovery or a dial is under way: the loop goes on with other streams, and this
            // stream's DATA waits in the unopened upstream stream.
            _ = exchange.OpenLaterAsync(acquiring, [.. headers]);
        }
    }

    /// <summary>Cached per connection: most connections carry one authority.</summary>
    private HttpRouteMetrics RouteMetrics(string authority)
    {
        if (_route is null || authority != _routeAuthority)
        {
            var tls = Connection.Tls;
            _route = Context.Metrics.ForHttp(Connection.Direction, authority, tls.Terminated, tls.ClientId);
            _routeAuthority = authority;
        }

        return _route;
    }

    private void OnTimer()
    {
        var now = Context.Time.GetTimestamp();
        if (StreamCount == 0)
        {
            if (now - Volatile.Read(ref _idleSince) >= _clientIdleTicks)
            {
                Close(Http2ErrorCode.NoError);
            }

            return;
        }

        if (Context.ResponseIdleTimeoutTicks != 0)
        {
            var since = now - Context.ResponseIdleTimeoutTicks;
            foreach (var stream in SnapshotStreams())
            {
                if (stream.Exchange.IdleSince(since))
                {
                    _ = stream.Exchange.TimeOutAsync().AsTask();
                }
            }
        }
    }
}
