using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The relay as an HTTP/2 client of one upstream endpoint, multiplexing the streams of many
/// client connections. It sends the preface with ENABLE_PUSH 0, takes no more streams than the
/// peer's MAX_CONCURRENT_STREAMS, and after a GOAWAY takes none and fails those the peer did not
/// process. Pooled by <see cref="Http2UpstreamPool"/>, which reserves a stream slot per request.
/// </summary>
internal sealed class Http2UpstreamConnection : Http2Connection
{
    /// <summary>Until the peer's SETTINGS arrive, assume the limit most servers announce.</summary>
    private const int InitialStreamLimit = 100;

    private static readonly (Http2SettingId, uint)[] Settings =
    [
        (Http2SettingId.EnablePush, 0),
        (Http2SettingId.InitialWindowSize, StreamWindow),
        (Http2SettingId.MaxHeaderListSize, MaxHeaderListSize),
    ];

    private readonly Http2UpstreamPool _pool;
    private int _reserved;
    private int _streamLimit = InitialStreamLimit;
    private volatile bool _goAwayReceived;
    private long _idleSince;
    private Task _readLoop = Task.CompletedTask;

    public Http2UpstreamConnection(Http2RelayContext context, ConnectionContext transport, Http2UpstreamPool pool, Http2PoolKey key)
        : base(context, transport)
    {
        _pool = pool;
        Key = key;
        _idleSince = context.Time.GetTimestamp();
    }

    public Http2PoolKey Key { get; }

    /// <summary>Completes when the connection is closed and its streams are failed.</summary>
    public Task Completion => _readLoop;

    protected override int LastProcessedStreamId => 0;

    protected override string Side => "upstream";

    /// <summary>Sends the preface and starts reading; the dial is complete when this returns.</summary>
    public async ValueTask StartAsync()
    {
        await WritePrefaceAsync(client: true, Settings);
        _readLoop = RunAsync();
    }

    /// <summary>
    /// Reserves a stream slot when the connection can take another stream. Called under the
    /// pool entry's lock, which also guards removing the connection from the pool.
    /// </summary>
    public bool TryReserve()
    {
        if (IsClosing || _goAwayReceived || NextStreamId <= 0 || _reserved >= Volatile.Read(ref _streamLimit))
        {
            return false;
        }

        Interlocked.Increment(ref _reserved);
        return true;
    }

    /// <summary>Gives back a slot whose stream never opened.</summary>
    public void ReleaseSlot() => ReleaseReservation();

    /// <summary>True when no stream has used the connection since <paramref name="timestamp"/>.</summary>
    public bool IdleSince(long timestamp) => Volatile.Read(ref _reserved) == 0 && Volatile.Read(ref _idleSince) < timestamp;

    /// <summary>Opens a stream for a request (a slot was reserved by <see cref="TryReserve"/>).</summary>
    public ValueTask<bool> OpenAsync(Http2Stream stream, IReadOnlyList<HeaderField> headers, Http2FlushBatch? batch) =>
        OpenStreamAsync(stream, headers, batch);

    protected override bool IsIdle(int streamId) => streamId % 2 == 0 || streamId >= NextStreamId;

    protected override void OnSettingsApplied() =>
        Volatile.Write(ref _streamLimit, PeerSettings.MaxConcurrentStreams);

    protected override void OnGoAway(int lastStreamId, Http2ErrorCode code)
    {
        _goAwayReceived = true;
        _pool.Remove(this);

        // Streams above the last one the peer processed never reached the application.
        foreach (var stream in SnapshotStreams())
        {
            if (stream.Id > lastStreamId)
            {
                _ = stream.Exchange.OnRefusedByGoAwayAsync(code).AsTask();
            }
        }

        if (Volatile.Read(ref _reserved) == 0)
        {
            Close(null);
        }
    }

    protected override void OnStreamRemoved(int streamId, int remaining) => ReleaseReservation();

    private void ReleaseReservation()
    {
        var reserved = Interlocked.Decrement(ref _reserved);
        if (reserved == 0)
        {
            Volatile.Write(ref _idleSince, Context.Time.GetTimestamp());
            if (_goAwayReceived)
            {
                Close(null);
            }
        }
    }

    protected override ValueTask OnStreamLostAsync(Http2Stream stream) => stream.Exchange.OnConnectionLostAsync(stream, "upstream connection closed");

    protected override ValueTask OnHeadersAsync(int streamId, bool endStream, List<HeaderField> headers, Http2FlushBatch batch)
    {
        var stream = FindStream(streamId);
        if (stream is null)
        {
            if (IsIdle(streamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "HEADERS on an idle stream");
            }

            // A stream the relay already reset.
            return default;
        }

        return stream.Exchange.OnResponseHeadersAsync(headers, endStream, batch);
    }

    private async Task RunAsync()
    {
        try
        {
            await RunReadLoopAsync();
        }
        finally
        {
            _pool.Remove(this);
            await DisposeTransportAsync();
        }
    }

    private async ValueTask DisposeTransportAsync()
    {
        try
        {
            await Transport.DisposeAsync();
        }
        catch (Exception)
        {
            // Nothing left to do with a connection that failed while closing.
        }
    }
}
