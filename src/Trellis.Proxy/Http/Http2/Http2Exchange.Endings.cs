using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Async;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

// === Failed and abandoned exchanges, and the metrics of every ending ===
internal sealed partial class Http2Exchange
{
    /// <summary>
    /// A proxy failure (connect, upstream closed or reset, timeout, protocol error): answers the
    /// client with the proxy's own response when no response headers reached it yet, otherwise
    /// resets its stream with <paramref name="clientResetCode"/>; then cancels the upstream stream.
    /// </summary>
    /// <remarks>
    /// A request the upstream refused (RST_STREAM REFUSED_STREAM, or a stream above a GOAWAY's last
    /// stream id) was never processed (RFC 9113 §8.7): with REFUSED_STREAM as
    /// <paramref name="clientResetCode"/> the client's stream is reset with it instead of
    /// answered, so the client knows it is safe to send the request again.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask FailAsync(ProxyError error, string? detail, Http2FlushBatch? batch, Http2ErrorCode clientResetCode = Http2ErrorCode.InternalError)
    {
        if (!TryFinish())
        {
            return;
        }

        LogForwardFailed(_context.Logger, Direction, _authority, _resolved ? _endpoint.Address : null, error.Reason(), detail);
        var responseEnded = (Volatile.Read(ref _state) & ResponseEndedFlag) != 0;
        var answer = clientResetCode == Http2ErrorCode.RefusedStream ? null : Http2ErrorResponses.For(error, _isGrpc);
        var client = await _client.TerminateStreamAsync(
            ClientStream, responseEnded ? Http2ErrorCode.NoError : clientResetCode, answer, batch);
        await CreditDroppedAsync(UpstreamStream, client.Dropped, batch);
        await CreditDroppedAsync(ClientStream, await TerminateUpstreamAsync(batch), batch);
        if (client.Answered)
        {
            Record(Http2ErrorResponses.Status(error, _isGrpc), _isGrpc ? Http2ErrorResponses.GrpcStatus(error) : -1, clientGone: false);
        }
        else
        {
            var grpcStatus = _grpcStatus >= 0 || !_isGrpc ? _grpcStatus : Http2ErrorResponses.GrpcStatus(error);
            Record(ClientStream.HeadersSent ? _status : 0, grpcStatus, clientGone: false);
        }

        RemoveStreams();
    }

    /// <summary>
    /// The client reset its stream or went away: the upstream stream is cancelled. Not a proxy
    /// failure (nobody is left to tell), and not held against the endpoint.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask ClientGoneAsync(Http2FlushBatch? batch)
    {
        if (!TryFinish())
        {
            return;
        }

        await CreditDroppedAsync(ClientStream, await TerminateUpstreamAsync(batch), batch);
        var client = await _client.TerminateStreamAsync(ClientStream, Http2ErrorCode.Cancel, null, batch);
        await CreditDroppedAsync(UpstreamStream, client.Dropped, batch);

        // A gRPC client that gave up sees CANCELLED, as the application would record it.
        var grpcStatus = _grpcStatus >= 0 || !_isGrpc ? _grpcStatus : 1;
        Record(ClientStream.HeadersSent ? _status : 0, grpcStatus, clientGone: true);
        RemoveStreams();
    }

    /// <summary>Cancels the upstream stream, or stops an unopened one from opening; returns the request bytes dropped.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<long> TerminateUpstreamAsync(Http2FlushBatch? batch)
    {
        var stream = UpstreamStream;
        var connection = stream.Connection;
        if (connection is null)
        {
            lock (stream)
            {
                connection = stream.Connection;
                if (connection is null)
                {
                    stream.SendClosed = true;
                    stream.PendingTrailers = null;
                    return stream.Pending.Clear();
                }
            }
        }

        var (_, dropped) = await connection.TerminateStreamAsync(stream, Http2ErrorCode.Cancel, null, batch);
        return dropped;
    }

    /// <summary>Bytes received from <paramref name="source"/> that will never be forwarded still go back to its connection window.</summary>
    private static ValueTask CreditDroppedAsync(Http2Stream source, long dropped, Http2FlushBatch? batch) =>
        dropped > 0 && source.Connection is { } connection ? connection.CreditAsync(null, (int)dropped, force: true, batch) : default;

    /// <summary>The response metrics and the balancer's outcome, once per exchange.</summary>
    private void Record(int status, int grpcStatus, bool clientGone)
    {
        if ((Interlocked.Or(ref _state, RecordedFlag) & RecordedFlag) != 0)
        {
            return;
        }

        var classification = ResponseClassifier.Classify(status, grpcStatus);
        var destination = _resolved ? DestinationLabels.Of(_endpoint) : default;
        _route.RecordResponse(status, classification, grpcStatus, _context.Time.GetElapsedTime(_start).TotalMilliseconds, destination);
        _endpoint.Completion.Complete(failed: classification == ResponseClass.Failure && !clientGone);
    }

    [LoggerMessage(1, LogLevel.Warning, "{Direction} HTTP/2 request for {Authority} to {Endpoint} failed: {Reason} ({Detail})")]
    private static partial void LogForwardFailed(ILogger logger, string direction, string? authority, IPEndPoint? endpoint, string reason, string? detail);

    [LoggerMessage(2, LogLevel.Error, "{Direction} HTTP/2 exchange failed")]
    private static partial void LogExchangeFailed(ILogger logger, string direction, Exception exception);
}
