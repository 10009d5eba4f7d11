using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Async;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

internal sealed partial class Http1Session
{
    private const int BodyRunning = -1;

    // An Http1BodyResult, or BodyRunning while the request body is being copied.
    private volatile int _requestBodyOutcome;
    private Http1ParseError _requestBodyError;
    private ValueTask _requestBodyCopy;

    // The balancer's handle for the exchange in flight, completed with its outcome.
    private PendingRequest _completion;

    // Who answers the exchange in flight, for the response metrics.
    private DestinationLabels _destination;

    /// <summary>Forwards the parsed request and its response; false when the client connection must end.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ExchangeAsync()
    {
        UpstreamEndpoint endpoint;
        try
        {
            endpoint = await _context.Resolver.ResolveAsync(_connection, _authority, _connection.Closed);
        }
        catch (Exception e)
        {
            LogResolveFailed(_context.Logger, _connection.Direction.Label(), _authority, e);
            return await FailAsync(ProxyError.NoEndpoints, null);
        }

        _completion = endpoint.Completion;
        _destination = DestinationLabels.Of(endpoint);
        var pool = PoolFor(endpoint.Address);
        var hasBody = _request.Framing != Http1BodyFraming.None;
        _requestBodyOutcome = hasBody ? BodyRunning : (int)Http1BodyResult.Completed;
        _requestBody.Reset();
        _responseBody.Reset();
        ResponseHeadOutcome outcome;
        for (var attempt = 0; ; attempt++)
        {
            var upstream = attempt == 0 ? pool.TryRent() : null;
            var reused = upstream is not null;
            if (upstream is null)
            {
                var error = ProxyError.None;
                try
                {
                    upstream = await _context.Connector.ConnectAsync(endpoint, _connection.Closed);
                }
                catch (UpstreamConnectException e)
                {
                    error = e.Error;
                }
                catch (Exception)
                {
                    error = ProxyError.HostUnreachable;
                }

                if (upstream is null)
                {
                    return await FailAsync(error, endpoint.Address);
                }
            }

            _upstream = upstream;
            if (_clientGone)
            {
                // Closed while dialling; OnClientClosed found no upstream to stop.
                DropUpstream(abort: true);
                RecordResponse(0);
                return false;
            }

            // A pooled connection can be closed by the server's idle timer just as it is reused:
            // the request then never reached the application. A bodyless request is still held
            // whole (its head is not consumed yet), so it is resent once on a fresh connection.
            // A request whose body has started to stream cannot be replayed (bodies are never
            // buffered), so it is not retried.
            var canRetry = reused && !hasBody && attempt == 0;

            // Started before the head is written, so the wait covers sending it and any body
            // stalled on the upstream, not only the time after the last byte went out.
            var timeout = StartHeadTimer();
            WriteRequestHead(upstream.Transport.Output);
            if (!await TryFlushAsync(upstream.Transport.Output))
            {
                if (canRetry)
                {
                    DropUpstream(abort: true);
                    continue;
                }

                return await FailAsync(ProxyError.UpstreamClosed, endpoint.Address);
            }

            if (hasBody)
            {
                ReleaseRequestHead();

                // Runs alongside the response-head read: with Expect: 100-continue the client
                // sends its body only after the upstream's 100 came back through us.
#pragma warning disable CA2012 // Kept in a field and awaited exactly once, by FinishRequestBodyAsync.
                _requestBodyCopy = CopyRequestBodyAsync(upstream);
#pragma warning restore CA2012
            }

            outcome = await ReadResponseHeadAsync(upstream.Transport.Input, timeout);
            if (outcome == ResponseHeadOutcome.ClosedBeforeResponse && canRetry)
            {
                DropUpstream(abort: true);
                continue;
            }

            break;
        }

        switch (outcome)
        {
            case ResponseHeadOutcome.Received:
                return await ForwardResponseAsync(pool, endpoint.Address);
            case ResponseHeadOutcome.Timeout:
                return await FailAsync(ProxyError.ResponseTimeout, endpoint.Address);
            case ResponseHeadOutcome.Invalid:
                return await FailAsync(ProxyError.UpstreamProtocolError, endpoint.Address);
            case ResponseHeadOutcome.RequestBodyFailed:
                return await RequestBodyFailedAsync();
            case ResponseHeadOutcome.ClientGone:
                await FinishRequestBodyAsync(stop: true);
                DropUpstream(abort: true);
                RecordResponse(0);
                return false;
            default:
                return await FailAsync(ProxyError.UpstreamClosed, endpoint.Address);
        }
    }

    private void WriteRequestHead(PipeWriter upstream)
    {
        // HTTP/1.0 defaults to one request per connection; ask the upstream to keep it open so
        // it can return to the pool. An upgrade keeps its Connection: upgrade.
        var connection = _request.IsUpgrade ? Http1HeadWriter.ConnectionUpgrade
            : _request.VersionMinor == 0 ? Http1HeadWriter.ConnectionKeepAlive
            : default;
        Http1HeadWriter.Write(upstream, _requestHead.Span, _request, _request.IsUpgrade, connection);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask CopyRequestBodyAsync(ConnectionContext upstream)
    {
        var result = await _requestBody.CopyAsync(_clientInput, upstream.Transport.Output, _request.Framing, _request.ContentLength);
        _requestBodyError = result == Http1BodyResult.Malformed ? _requestBody.Error : Http1ParseError.None;
        _requestBodyOutcome = (int)result;
        if (result is Http1BodyResult.SourceEnded or Http1BodyResult.Malformed)
        {
            // The client went away or broke the framing mid-body: the upstream holds half a
            // request, so stop waiting on its response.
            _responseBody.Abort(upstream.Transport.Input, _clientOutput);
        }
    }

    /// <summary>Waits for the request body copy; stops it first when it can no longer matter.</summary>
    private async ValueTask<Http1BodyResult> FinishRequestBodyAsync(bool stop)
    {
        if (_request.Framing == Http1BodyFraming.None)
        {
            return Http1BodyResult.Completed;
        }

        if (stop && _requestBodyOutcome == BodyRunning)
        {
            _requestBody.Abort(_clientInput, _upstream?.Transport.Output);
        }

        await _requestBodyCopy;
        _requestBodyCopy = default;
        return (Http1BodyResult)_requestBodyOutcome;
    }

    /// <summary>Answers with the proxy's own 502/504 after an upstream failure.</summary>
    private async ValueTask<bool> FailAsync(ProxyError error, IPEndPoint? endpoint)
    {
        // The body copy writes to the upstream: stop it before the upstream's pipes are completed.
        var bodyStarted = _requestBodyOutcome == BodyRunning && !_requestHeadHeld;
        var body = bodyStarted ? await FinishRequestBodyAsync(stop: true) : (Http1BodyResult)_requestBodyOutcome;
        DropUpstream(abort: true);
        ReleaseRequestHead();

        // An unread (or half-read) body leaves the client pipe mid-message: close after answering.
        var keepAlive = _request.KeepAlive && body == Http1BodyResult.Completed && !_context.Draining.IsCancellationRequested;
        LogUpstreamFailed(_context.Logger, _connection.Direction.Label(), _authority, endpoint, error.Reason());
        Http1ErrorResponses.WriteProxyError(_clientOutput, error, close: !keepAlive);
        // Record what the client was answered (502/504), as the HTTP/2 path does.
        RecordResponse(error.StatusCode());
        return await TryFlushClientAsync() && keepAlive;
    }

    private async ValueTask<bool> RequestBodyFailedAsync()
    {
        var body = await FinishRequestBodyAsync(stop: true);
        DropUpstream(abort: true);
        RecordResponse(0);
        if (body == Http1BodyResult.Malformed)
        {
            await RejectAsync(_requestBodyError);
        }

        return false;
    }

    private void DropUpstream(bool abort)
    {
        if (_upstream is null)
        {
            return;
        }

        if (abort)
        {
            Http1Upstream.Abort(_upstream);
        }
        else
        {
            Http1Upstream.Close(_upstream);
        }

        _upstream = null;
    }

    private void RecordResponse(int status)
    {
        var classification = ResponseClassifier.Classify(status, -1);
        _routeMetrics!.RecordResponse(status, classification, -1, _context.Time.GetElapsedTime(_start).TotalMilliseconds, _destination);
        _completion.Complete(failed: classification == ResponseClass.Failure);
        _completion = default;
        _destination = default;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> TryFlushAsync(PipeWriter writer)
    {
        try
        {
            var flush = await writer.FlushAsync();
            return !flush.IsCompleted;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
