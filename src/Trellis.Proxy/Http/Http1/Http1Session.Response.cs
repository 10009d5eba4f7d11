using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Async;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

internal sealed partial class Http1Session
{
    private ReadOnlyMemory<byte> _responseHead;
    private SequencePosition _responseHeadEnd;
    private byte[]? _rentedResponseHead;

    private enum ResponseHeadOutcome
    {
        Received,
        ClosedBeforeResponse,
        UpstreamClosed,
        Timeout,
        Invalid,
        RequestBodyFailed,
        ClientGone,
    }

    /// <summary>
    /// Reads response heads until a final one (forwarding 1xx interim responses to the client),
    /// and leaves it parsed in <see cref="_response"/>, not yet consumed from the upstream pipe.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ResponseHeadOutcome> ReadResponseHeadAsync(PipeReader input, CancellationToken timeout)
    {
        var responded = false;
        try
        {
            while (true)
            {
                _responseScanner.Reset();
                ReadOnlySequence<byte> buffer;
                int headLength;
                while (true)
                {
                    ReadResult result;
                    try
                    {
                        result = await input.ReadAsync(timeout);
                    }
                    catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                    {
                        return ResponseHeadOutcome.Timeout;
                    }
                    catch (Exception)
                    {
                        return responded ? ResponseHeadOutcome.UpstreamClosed : ResponseHeadOutcome.ClosedBeforeResponse;
                    }

                    buffer = result.Buffer;
                    if (result.IsCanceled && _clientGone)
                    {
                        input.AdvanceTo(buffer.Start);
                        return ResponseHeadOutcome.ClientGone;
                    }

                    if (result.IsCanceled && _requestBodyOutcome is (int)Http1BodyResult.SourceEnded or (int)Http1BodyResult.Malformed)
                    {
                        input.AdvanceTo(buffer.Start);
                        return ResponseHeadOutcome.RequestBodyFailed;
                    }

                    responded |= !buffer.IsEmpty;
                    var error = _responseScanner.Scan(
                        buffer, _options.MaxResponseHeadBytes, _options.MaxResponseHeadBytes, _response.MaxHeaders, out headLength);
                    if (error != Http1ParseError.None)
                    {
                        input.AdvanceTo(buffer.Start);
                        LogInvalidResponse(_context.Logger, _connection.Direction.Label(), _authority, error);
                        return ResponseHeadOutcome.Invalid;
                    }

                    if (headLength > 0)
                    {
                        break;
                    }

                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        return responded ? ResponseHeadOutcome.UpstreamClosed : ResponseHeadOutcome.ClosedBeforeResponse;
                    }
                }

                var parsed = HoldResponseHead(buffer, headLength);
                if (parsed != Http1ParseError.None)
                {
                    ReleaseResponseHead(input);
                    LogInvalidResponse(_context.Logger, _connection.Direction.Label(), _authority, parsed);
                    return ResponseHeadOutcome.Invalid;
                }

                if (_response.StatusCode is < 100 or >= 200 or 101)
                {
                    return ResponseHeadOutcome.Received;
                }

                // 1xx interim (100 Continue, 103 Early Hints): pass on, then wait for the final
                // head. HTTP/1.0 clients do not know 1xx (RFC 9110 section 15.2).
                if (_request.VersionMinor == 1)
                {
                    Http1HeadWriter.Write(_clientOutput, _responseHead.Span, _response, keepUpgrade: false, default, ownVersion: true);
                }

                ReleaseResponseHead(input);
                if (_request.VersionMinor == 1 && !await TryFlushClientAsync())
                {
                    return ResponseHeadOutcome.ClientGone;
                }
            }
        }
        finally
        {
            StopHeadTimer();
        }
    }

    /// <summary>Forwards the final response head and streams its body; false when the client connection must end.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardResponseAsync(Http1EndpointPool pool, IPEndPoint endpoint)
    {
        var upstream = _upstream!;
        var input = upstream.Transport.Input;
        if (_response.StatusCode == 101)
        {
            return await TunnelAsync(endpoint);
        }

        // The client connection persists only if the next request's start is known: the request
        // body fully read, the response delimited by its own framing, and no drain under way.
        var keepAlive = _request.KeepAlive && _requestBodyOutcome != BodyRunning
            && _response.Framing != Http1BodyFraming.UntilClose && !_context.Draining.IsCancellationRequested;
        var connection = !keepAlive ? Http1HeadWriter.ConnectionClose
            : _request.VersionMinor == 0 ? Http1HeadWriter.ConnectionKeepAlive
            : default;
        Http1HeadWriter.Write(_clientOutput, _responseHead.Span, _response, keepUpgrade: false, connection, ownVersion: true);
        ReleaseResponseHead(input);
        ReleaseRequestHead();

        var result = _response.Framing == Http1BodyFraming.None
            ? (await TryFlushClientAsync() ? Http1BodyResult.Completed : Http1BodyResult.DestinationGone)
            : await _responseBody.CopyAsync(input, _clientOutput, _response.Framing, _response.ContentLength);
        var body = await FinishRequestBodyAsync(stop: true);
        RecordResponse(_response.StatusCode);

        if (result == Http1BodyResult.Completed && body == Http1BodyResult.Completed
            && _response.KeepAlive && _response.Framing != Http1BodyFraming.UntilClose)
        {
            pool.Return(upstream);
            _upstream = null;
        }
        else
        {
            DropUpstream(abort: result != Http1BodyResult.Completed || body != Http1BodyResult.Completed);
        }

        if (result is Http1BodyResult.SourceEnded or Http1BodyResult.Malformed or Http1BodyResult.Aborted)
        {
            // The head is already with the client, so no 502 can follow: closing the client
            // connection is the only way to tell it the response is incomplete.
            LogUpstreamFailed(_context.Logger, _connection.Direction.Label(), _authority, endpoint, "upstream failed mid-response");
            return false;
        }

        return keepAlive && result == Http1BodyResult.Completed && body == Http1BodyResult.Completed;
    }

    /// <summary>After a 101, the connection carries another protocol: pass bytes both ways until both sides close.</summary>
    private async ValueTask<bool> TunnelAsync(IPEndPoint endpoint)
    {
        var upstream = _upstream!;
        if (!_request.IsUpgrade)
        {
            ReleaseResponseHead(upstream.Transport.Input);
            LogInvalidResponse(_context.Logger, _connection.Direction.Label(), _authority, Http1ParseError.InvalidStatusLine);
            return await FailAsync(ProxyError.UpstreamProtocolError, endpoint);
        }

        var body = await FinishRequestBodyAsync(stop: false);
        Http1HeadWriter.Write(_clientOutput, _responseHead.Span, _response, keepUpgrade: true, Http1HeadWriter.ConnectionUpgrade);
        ReleaseResponseHead(upstream.Transport.Input);
        ReleaseRequestHead();
        RecordResponse(101);
        if (body != Http1BodyResult.Completed || !await TryFlushClientAsync())
        {
            DropUpstream(abort: true);
            return false;
        }

        // A drain must not cut a tunnel in half by waking its client read.
        _drainRegistration.Dispose();
        try
        {
            await PipeCopy.BidirectionalAsync(_connection.Transport, upstream.Transport, CancellationToken.None);
        }
        catch (Exception)
        {
            // Either side broke; both are closed below.
        }

        DropUpstream(abort: false);
        return false;
    }

    private Http1ParseError HoldResponseHead(in ReadOnlySequence<byte> buffer, int headLength)
    {
        _responseHeadEnd = buffer.GetPosition(headLength);
        var first = buffer.First;
        if (first.Length >= headLength)
        {
            _responseHead = first[..headLength];
        }
        else
        {
            _rentedResponseHead = ArrayPool<byte>.Shared.Rent(headLength);
            buffer.Slice(0, headLength).CopyTo(_rentedResponseHead);
            _responseHead = _rentedResponseHead.AsMemory(0, headLength);
        }

        return Http1Parser.ParseResponse(_responseHead.Span, _response, _request.IsHeadMethod);
    }

    private void ReleaseResponseHead(PipeReader input)
    {
        input.AdvanceTo(_responseHeadEnd);
        _responseHead = default;
        if (_rentedResponseHead is not null)
        {
            ArrayPool<byte>.Shared.Return(_rentedResponseHead);
            _rentedResponseHead = null;
        }
    }

    private CancellationToken StartHeadTimer()
    {
        if (_options.ResponseHeadersTimeout == Timeout.InfiniteTimeSpan)
        {
            return CancellationToken.None;
        }

        // A timer left running by an exchange that failed before its head was read is reset here.
        StopHeadTimer();
        _headTimeout ??= new CancellationTokenSource(Timeout.InfiniteTimeSpan, _context.Time);
        _headTimeout.CancelAfter(_options.ResponseHeadersTimeout);
        return _headTimeout.Token;
    }

    private void StopHeadTimer()
    {
        if (_headTimeout is not null && !_headTimeout.TryReset())
        {
            _headTimeout.Dispose();
            _headTimeout = null;
        }
    }
}
