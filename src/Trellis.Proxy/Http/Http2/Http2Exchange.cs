using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Async;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// One forwarded request: the client's stream and the upstream stream it is relayed to, the
/// endpoint it was balanced to, and its outcome. Frames move through it on the two connections'
/// read loops; it decides what a reset, a lost connection or a timeout means for the other side,
/// and records the response metrics and the balancer outcome exactly once.
/// </summary>
/// <remarks>
/// The exchange ends normally once END_STREAM went out both ways, or at the first failure
/// (<see cref="TryFinish"/> picks one ending). Before the response headers reached the client a
/// failure is answered with the proxy's own response (<see cref="Http2ErrorResponses"/>);
/// after, the client's stream is reset.
/// </remarks>
internal sealed partial class Http2Exchange
{
    private const int ResponseEndedFlag = 1;
    private const int RequestEndedFlag = 2;
    private const int FinishedFlag = 4;
    private const int RecordedFlag = 8;

    private readonly Http2RelayContext _context;
    private readonly Http2ServerConnection _client;
    private readonly HttpRouteMetrics _route;
    private readonly string? _authority;
    private readonly bool _isGrpc;
    private readonly long _start;
    private UpstreamEndpoint _endpoint;
    private bool _resolved;
    private ProxyError _acquireError;
    private string? _acquireDetail;
    private int _status;
    private int _grpcStatus = -1;
    private int _state;
    private long _lastActivity;

    public Http2Exchange(Http2RelayContext context, Http2ServerConnection client, int streamId, long clientWindow, HttpRouteMetrics route, in Http2Request request)
    {
        _context = context;
        _client = client;
        _route = route;
        _authority = request.Authority;
        _isGrpc = request.IsGrpc;
        _start = context.Time.GetTimestamp();
        _lastActivity = _start;
        ClientStream = new Http2Stream(this)
        {
            Id = streamId,
            Connection = client,
            SendWindow = clientWindow,
            ReceiveLimit = Http2ServerConnection.ClientStreamWindow,
            HeadersReceived = true,
        };
        UpstreamStream = new Http2Stream(this) { Peer = ClientStream };
        ClientStream.Peer = UpstreamStream;
    }

    /// <summary>The client's stream, on the server connection.</summary>
    public Http2Stream ClientStream { get; }

    /// <summary>The relay's stream to the upstream; unbound until opened.</summary>
    public Http2Stream UpstreamStream { get; }

    /// <summary>Notes a frame of this exchange, for the response idle timeout.</summary>
    public void Touch()
    {
        if (_context.ResponseIdleTimeoutTicks != 0)
        {
            Volatile.Write(ref _lastActivity, _context.Time.GetTimestamp());
        }
    }

    /// <summary>True when the exchange saw no frame since <paramref name="timestamp"/>.</summary>
    public bool IdleSince(long timestamp) => Volatile.Read(ref _lastActivity) < timestamp;

    /// <summary>
    /// Resolves the endpoint and takes a stream slot on a pooled upstream connection: synchronous
    /// when discovery answers at once and a connection has room. Null when it failed (the
    /// reason is kept for <see cref="OpenAsync"/>).
    /// </summary>
    public ValueTask<Http2UpstreamConnection?> AcquireAsync()
    {
        try
        {
            var resolving = _context.Resolver.ResolveAsync(_client.Connection, _authority, _client.Connection.Closed);
            if (!resolving.IsCompletedSuccessfully)
            {
                return ResolveThenAcquireAsync(resolving);
            }

            _endpoint = resolving.Result;
            _resolved = true;
            return _context.Pool.TryAcquire(_endpoint, out var connection)
                ? new ValueTask<Http2UpstreamConnection?>(connection)
                : DialAsync();
        }
        catch (Exception e)
        {
            return new ValueTask<Http2UpstreamConnection?>(NoEndpoint(e));
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Http2UpstreamConnection?> ResolveThenAcquireAsync(ValueTask<UpstreamEndpoint> resolving)
    {
        try
        {
            _endpoint = await resolving;
            _resolved = true;
        }
        catch (Exception e)
        {
            return NoEndpoint(e);
        }

        return _context.Pool.TryAcquire(_endpoint, out var connection) ? connection : await DialAsync();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Http2UpstreamConnection?> DialAsync()
    {
        try
        {
            return await _context.Pool.AcquireAsync(_endpoint);
        }
        catch (UpstreamConnectException e)
        {
            _acquireError = e.Error;
            _acquireDetail = Innermost(e);
        }
        catch (Exception e)
        {
            _acquireError = ProxyError.HostUnreachable;
            _acquireDetail = Innermost(e);
        }

        return null;
    }

    private Http2UpstreamConnection? NoEndpoint(Exception e)
    {
        // A resolver throws UpstreamConnectException for "no endpoints"; anything else means the same to the client.
        _acquireError = e is UpstreamConnectException connect ? connect.Error : ProxyError.NoEndpoints;
        _acquireDetail = Innermost(e);
        return null;
    }

    /// <summary>
    /// Sends the request headers on the acquired connection, then whatever DATA arrived while
    /// acquiring; or answers the client with the failure.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask OpenAsync(Http2UpstreamConnection? upstream, IReadOnlyList<HeaderField> headers, Http2FlushBatch? batch)
    {
        if (upstream is null)
        {
            await FailAsync(_acquireError, _acquireDetail, batch);
            return;
        }

        if (!await upstream.OpenAsync(UpstreamStream, headers, batch))
        {
            upstream.ReleaseSlot();
            await FailAsync(ProxyError.UpstreamClosed, "the connection closed before the request was sent", batch);
        }
    }

    /// <summary>The rest of <see cref="OpenAsync"/> once a slow resolve or dial is done; runs off the read loop.</summary>
    public async Task OpenLaterAsync(ValueTask<Http2UpstreamConnection?> acquiring, HeaderField[] headers)
    {
        try
        {
            await OpenAsync(await acquiring, headers, batch: null);
        }
        catch (Exception e)
        {
            LogExchangeFailed(_context.Logger, Direction, e);
            await FailAsync(ProxyError.UpstreamClosed, e.Message, batch: null);
        }
    }

    /// <summary>Response headers, 1xx or final, or trailers, from the upstream's read loop.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask OnResponseHeadersAsync(List<HeaderField> headers, bool endStream, Http2FlushBatch batch)
    {
        var upstream = UpstreamStream;
        if (upstream.RemoteEnded)
        {
            throw new Http2StreamException(upstream.Id, Http2ErrorCode.StreamClosed, "HEADERS after END_STREAM");
        }

        Touch();
        if (upstream.HeadersReceived)
        {
            if (!endStream || !Http2Headers.TryReadTrailers(headers))
            {
                throw new Http2StreamException(upstream.Id, Http2ErrorCode.ProtocolError, "malformed response trailers");
            }

            upstream.RemoteEnded = true;
            KeepGrpcStatus(headers);
            await _client.SendHeadersAsync(ClientStream, headers, endStream: true, final: false, batch);
            return;
        }

        var status = Http2Headers.ReadResponse(headers);
        if (status == 0 || (status < 200 && endStream))
        {
            throw new Http2StreamException(upstream.Id, Http2ErrorCode.ProtocolError, "malformed response headers");
        }

        if (status >= 200)
        {
            upstream.HeadersReceived = true;
            _status = status;
            if (endStream)
            {
                // Trailers-only: grpc-status travels in the headers.
                upstream.RemoteEnded = true;
                KeepGrpcStatus(headers);
            }
        }

        await _client.SendHeadersAsync(ClientStream, headers, endStream, final: status >= 200, batch);
    }

    /// <summary>Request trailers from the client's read loop.</summary>
    public ValueTask OnRequestTrailersAsync(List<HeaderField> headers, bool endStream, Http2FlushBatch batch)
    {
        if (ClientStream.RemoteEnded)
        {
            throw new Http2StreamException(ClientStream.Id, Http2ErrorCode.StreamClosed, "HEADERS after END_STREAM");
        }

        if (!endStream || !Http2Headers.TryReadTrailers(headers))
        {
            throw new Http2StreamException(ClientStream.Id, Http2ErrorCode.ProtocolError, "malformed request trailers");
        }

        ClientStream.RemoteEnded = true;
        Touch();
        return Http2Connection.ForwardTrailersAsync(UpstreamStream, headers, batch);
    }

    /// <summary>
    /// END_STREAM went out on <paramref name="stream"/>; called under its connection's write
    /// lock. True when that completed the exchange.
    /// </summary>
    public bool OnEndSent(Http2Stream stream)
    {
        if (ReferenceEquals(stream, ClientStream))
        {
            SetFlag(ResponseEndedFlag);
            Record(_status, _grpcStatus, clientGone: false);
        }
        else
        {
            SetFlag(RequestEndedFlag);
        }

        if ((Volatile.Read(ref _state) & (ResponseEndedFlag | RequestEndedFlag)) == (ResponseEndedFlag | RequestEndedFlag) && TryFinish())
        {
            RemoveStreams();
            return true;
        }

        return false;
    }

    /// <summary>The peer endpoint of <paramref name="stream"/> reset it.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask OnResetReceivedAsync(Http2Stream stream, Http2ErrorCode code, Http2FlushBatch batch)
    {
        var wasComplete = stream.RemoteEnded;
        stream.Reset = true;
        stream.RemoteEnded = true;
        if (ReferenceEquals(stream, ClientStream))
        {
            await ClientGoneAsync(batch);
            return;
        }

        if (!wasComplete)
        {
            await FailAsync(ProxyError.UpstreamClosed, $"stream reset by the upstream ({code})", batch, clientResetCode: code);
            return;
        }

        // The response is complete; the upstream only wants no more of the request (RFC 9113 §8.1).
        SetFlag(RequestEndedFlag);
        var request = await stream.Connection!.TerminateStreamAsync(stream, code, null, batch);
        await CreditDroppedAsync(ClientStream, request.Dropped, batch);
        if ((Volatile.Read(ref _state) & ResponseEndedFlag) != 0 && TryFinish())
        {
            var response = await _client.TerminateStreamAsync(ClientStream, Http2ErrorCode.NoError, null, batch);
            await CreditDroppedAsync(UpstreamStream, response.Dropped, batch);
            RemoveStreams();
        }
    }

    /// <summary>The relay found <paramref name="stream"/> broken (flow control, malformed headers): reset it and end the exchange.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    public async ValueTask OnStreamErrorAsync(Http2Stream stream, Http2ErrorCode code, Http2FlushBatch? batch)
    {
        if (stream.Connection is { } connection)
        {
            var terminated = await connection.TerminateStreamAsync(stream, code, null, batch);
            await CreditDroppedAsync(stream.Peer, terminated.Dropped, batch);
        }

        if (ReferenceEquals(stream, ClientStream))
        {
            await ClientGoneAsync(batch);
        }
        else
        {
            await FailAsync(ProxyError.UpstreamProtocolError, $"stream error {code}", batch);
        }
    }

    /// <summary>The connection <paramref name="stream"/> lives on is gone.</summary>
    public ValueTask OnConnectionLostAsync(Http2Stream stream, string detail) =>
        ReferenceEquals(stream, ClientStream)
            ? ClientGoneAsync(batch: null)
            : FailAsync(ProxyError.UpstreamClosed, detail, batch: null);

    /// <summary>The upstream's GOAWAY named a lower last stream: it never processed this request.</summary>
    public ValueTask OnRefusedByGoAwayAsync(Http2ErrorCode code) =>
        FailAsync(ProxyError.UpstreamClosed, $"above the last stream of the upstream's GOAWAY ({code})", batch: null, clientResetCode: Http2ErrorCode.RefusedStream);

    /// <summary>No frame either way for the response idle timeout.</summary>
    public ValueTask TimeOutAsync() => FailAsync(ProxyError.ResponseTimeout, null, batch: null, clientResetCode: Http2ErrorCode.Cancel);

    private string Direction => _client.Connection.Direction.Label();

    private void KeepGrpcStatus(List<HeaderField> headers)
    {
        var grpcStatus = Http2Headers.GrpcStatus(headers);
        if (grpcStatus >= 0)
        {
            _grpcStatus = grpcStatus;
        }
    }

    private void SetFlag(int flag) => Interlocked.Or(ref _state, flag);

    /// <summary>Claims the exchange's ending; false when another path already ended it.</summary>
    private bool TryFinish() => (Interlocked.Or(ref _state, FinishedFlag) & FinishedFlag) == 0;

    private void RemoveStreams()
    {
        _client.RemoveStream(ClientStream);
        UpstreamStream.Connection?.RemoveStream(UpstreamStream);
    }

    private static string? Innermost(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception.Message;
    }
}
