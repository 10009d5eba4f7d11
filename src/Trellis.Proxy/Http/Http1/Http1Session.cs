using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Async;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// One client connection on the HTTP/1 path: reads request heads off the client's pipe,
/// forwards each exchange, and loops while both sides keep the connection alive. All
/// per-request state lives in fields reused across requests, and the per-request async helpers
/// use pooled state machines, so a keep-alive GET allocates next to nothing once warm.
/// </summary>
internal sealed partial class Http1Session
{
    private readonly Http1ForwarderContext _context;
    private readonly Http1Options _options;
    private readonly ProxyConnection _connection;
    private readonly PipeReader _clientInput;
    private readonly PipeWriter _clientOutput;
    private readonly Http1Head _request;
    private readonly Http1Head _response;
    private readonly Http1BodyCopier _requestBody;
    private readonly Http1BodyCopier _responseBody;
    private Http1HeadScanner _requestScanner;
    private Http1HeadScanner _responseScanner;

    // Cached per connection: most connections carry one authority to one endpoint.
    private byte[] _hostBytes = [];
    private string? _authority;
    private HttpRouteMetrics? _routeMetrics;
    private IPEndPoint? _endpoint;
    private Http1EndpointPool? _endpointPool;
    private CancellationTokenSource? _headTimeout;
    private CancellationTokenRegistration _drainRegistration;
    private CancellationTokenRegistration _closedRegistration;
    private volatile bool _clientGone;

    // The request in flight.
    private ReadOnlyMemory<byte> _requestHead;
    private SequencePosition _requestHeadEnd;
    private bool _requestHeadHeld;
    private byte[]? _rentedRequestHead;
    private long _start;
    private ConnectionContext? _upstream;

    public Http1Session(Http1ForwarderContext context, ProxyConnection connection)
    {
        _context = context;
        _options = context.Options;
        _connection = connection;
        _clientInput = connection.Transport.Input;
        _clientOutput = connection.Transport.Output;
        _request = new Http1Head(_options.MaxHeaderCount);

        // Responses commonly carry more fields (cookies, caching) than requests; the head size bound still holds.
        _response = new Http1Head(_options.MaxHeaderCount * 4);
        _requestBody = new Http1BodyCopier(_options.MaxChunkLineBytes, _options.MaxRequestHeadBytes);
        _responseBody = new Http1BodyCopier(_options.MaxChunkLineBytes, _options.MaxResponseHeadBytes);
    }

    public async Task RunAsync()
    {
        // Wakes an idle keep-alive connection waiting for its next request so a drain can close it.
        _drainRegistration = _context.Draining.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), _clientInput);
        _closedRegistration = _connection.Closed.UnsafeRegister(static state => ((Http1Session)state!).OnClientClosed(), this);
        try
        {
            while (await ServeRequestAsync())
            {
            }
        }
        catch (Exception e)
        {
            // A bug must cost one connection, never the proxy.
            LogSessionFailed(_context.Logger, _connection.Direction.Label(), e);
        }
        finally
        {
            ReleaseRequestHead();
            if (_upstream is not null)
            {
                Http1Upstream.Abort(_upstream);
                _upstream = null;
            }

            _headTimeout?.Dispose();
            _drainRegistration.Dispose();
            _closedRegistration.Dispose();
            await _clientOutput.CompleteAsync();
            await _clientInput.CompleteAsync();
        }
    }

    /// <summary>
    /// The client went away (the transport saw it close): stop waiting on the upstream so the
    /// exchange is aborted now rather than when its response would have been written.
    /// </summary>
    private void OnClientClosed()
    {
        _clientGone = true;
        var upstream = _upstream;
        if (upstream is not null)
        {
            _responseBody.Abort(upstream.Transport.Input, _clientOutput);
        }
    }

    /// <summary>Serves one request; false when the client connection must end.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeRequestAsync()
    {
        _requestScanner.Reset();
        ReadOnlySequence<byte> buffer;
        int headLength;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _clientInput.ReadAsync();
            }
            catch (Exception)
            {
                return false;
            }

            buffer = result.Buffer;
            var leading = Http1HeadScanner.LeadingEmptyLines(buffer);
            if (leading > 0)
            {
                // RFC 9112 section 2.2: a server ignores empty lines before a request line.
                _clientInput.AdvanceTo(buffer.GetPosition(leading));
                _requestScanner.Reset();
                continue;
            }

            var error = _requestScanner.Scan(
                buffer, _options.MaxRequestHeadBytes, _options.MaxRequestLineBytes, _options.MaxHeaderCount, out headLength);
            if (error != Http1ParseError.None)
            {
                _clientInput.AdvanceTo(buffer.End);
                await RejectAsync(error);
                return false;
            }

            if (headLength > 0)
            {
                break;
            }

            _clientInput.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || (result.IsCanceled && buffer.IsEmpty && _context.Draining.IsCancellationRequested))
            {
                // Closed (or drained) between requests, or mid-head: nothing to answer.
                return false;
            }
        }

        HoldRequestHead(buffer, headLength);
        var parsed = Http1Parser.ParseRequest(_requestHead.Span, _request);
        if (parsed != Http1ParseError.None)
        {
            ReleaseRequestHead();
            await RejectAsync(parsed);
            return false;
        }

        BindAuthority();
        _routeMetrics!.Requests.Increment();
        _start = _context.Time.GetTimestamp();
        return await ExchangeAsync();
    }

    /// <summary>
    /// Keeps the head readable without consuming it from the client pipe: a bodyless request
    /// may be resent on a fresh upstream connection, and needs its bytes until a response
    /// arrives. A head split across segments is copied once into a rented buffer.
    /// </summary>
    private void HoldRequestHead(in ReadOnlySequence<byte> buffer, int headLength)
    {
        _requestHeadEnd = buffer.GetPosition(headLength);
        _requestHeadHeld = true;
        var first = buffer.First;
        if (first.Length >= headLength)
        {
            _requestHead = first[..headLength];
            return;
        }

        _rentedRequestHead = ArrayPool<byte>.Shared.Rent(headLength);
        buffer.Slice(0, headLength).CopyTo(_rentedRequestHead);
        _requestHead = _rentedRequestHead.AsMemory(0, headLength);
    }

    /// <summary>Consumes the head from the client pipe (the body, or the next request, follows it).</summary>
    private void ReleaseRequestHead()
    {
        if (_requestHeadHeld)
        {
            _requestHeadHeld = false;
            _clientInput.AdvanceTo(_requestHeadEnd);
        }

        _requestHead = default;
        if (_rentedRequestHead is not null)
        {
            ArrayPool<byte>.Shared.Return(_rentedRequestHead);
            _rentedRequestHead = null;
        }
    }

    /// <summary>The authority string and its metrics are rebuilt only when the Host bytes change.</summary>
    private void BindAuthority()
    {
        ReadOnlySpan<byte> host = default;
        if (_request.HostIndex >= 0)
        {
            var entry = _request.Headers[_request.HostIndex];
            host = _requestHead.Span.Slice(entry.ValueStart, entry.ValueLength);
        }

        if (_routeMetrics is not null && host.SequenceEqual(_hostBytes))
        {
            return;
        }

        _hostBytes = host.ToArray();
        _authority = host.IsEmpty ? null : Encoding.Latin1.GetString(host);
        _routeMetrics = _context.Metrics.ForHttp(_connection.Direction, _authority ?? string.Empty, _connection.Tls.Terminated, _connection.Tls.ClientId);
    }

    private Http1EndpointPool PoolFor(IPEndPoint endpoint)
    {
        if (_endpointPool is null || !endpoint.Equals(_endpoint))
        {
            _endpoint = endpoint;
            _endpointPool = _context.Pool.For(endpoint);
        }

        return _endpointPool;
    }

    private async ValueTask RejectAsync(Http1ParseError error)
    {
        LogRequestRejected(_context.Logger, _connection.Direction.Label(), error);
        Http1ErrorResponses.WriteRejection(_clientOutput, error);
        await TryFlushClientAsync();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> TryFlushClientAsync()
    {
        try
        {
            var flush = await _clientOutput.FlushAsync();
            return !flush.IsCompleted;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
