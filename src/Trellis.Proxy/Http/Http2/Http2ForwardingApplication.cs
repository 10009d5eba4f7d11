using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;
using Yarp.ReverseProxy.Forwarder;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// What Kestrel's HTTP/2 server runs for each stream: resolve the endpoint, forward with YARP's
/// <see cref="IHttpForwarder"/> (hop-by-hop headers dropped, bodies and trailers streamed,
/// cancellation both ways), turn failures into a 502/504 or, for gRPC, a trailers-only
/// UNAVAILABLE/DEADLINE_EXCEEDED, and record the golden metrics.
/// It implements Kestrel's <see cref="IHttpApplication{TContext}"/> directly, so no hosting
/// stack, middleware pipeline or request services are built.
/// </summary>
internal sealed partial class Http2ForwardingApplication : IHttpApplication<HttpContext>
{
    private const string ProxyErrorHeader = "trellis-proxy-error";

    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _upstream;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly IDestinationResolver _resolver;
    private readonly UpstreamIdentities _identities;
    private readonly ProxyMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<RouteKey, HttpRouteMetrics> _routes = new();
    private readonly ConcurrentDictionary<IPEndPoint, string> _prefixes = new();

    public Http2ForwardingApplication(
        IHttpForwarder forwarder,
        HttpMessageInvoker upstream,
        ForwarderRequestConfig requestConfig,
        IDestinationResolver resolver,
        UpstreamIdentities identities,
        ProxyMetrics metrics,
        TimeProvider time,
        ILogger logger)
    {
        _forwarder = forwarder;
        _upstream = upstream;
        _requestConfig = requestConfig;
        _resolver = resolver;
        _identities = identities;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }

    public async Task ProcessRequestAsync(HttpContext context)
    {
        var start = _time.GetTimestamp();
        var connection = context.Features.Get<ProxyConnection>()
            ?? throw new InvalidOperationException("HTTP/2 request on a connection that was not handed over by Http2Forwarder.");
        var authority = context.Request.Host.Value ?? string.Empty;
        var route = _routes.GetOrAdd(
            new RouteKey(connection.Direction, connection.Tls.Terminated, authority, connection.Tls.ClientId),
            static (key, metrics) => metrics.ForHttp(key.Direction, key.Authority, key.Tls, key.ClientId),
            _metrics);
        route.Requests.Increment();
        var isGrpc = IsGrpc(context.Request.ContentType);

        var failure = ProxyError.None;
        var clientGone = false;
        IPEndPoint? endpoint = null;
        PendingRequest completion = default;
        DestinationLabels destination = default;
        Exception? cause = null;
        try
        {
            var resolved = await _resolver.ResolveAsync(connection, authority, context.RequestAborted);
            completion = resolved.Completion;
            destination = DestinationLabels.Of(resolved);
            endpoint = resolved.Address;
            _identities.Remember(resolved);
            var error = await _forwarder.SendAsync(context, Prefix(endpoint), _upstream, _requestConfig, HttpTransformer.Empty);
            if (error != ForwarderError.None)
            {
                cause = context.Features.Get<IForwarderErrorFeature>()?.Exception;
                if (ForwarderErrors.IsClientSide(error))
                {
                    clientGone = true;
                }
                else
                {
                    failure = ForwarderErrors.ToProxyError(error, cause);
                }
            }
        }
        catch (UpstreamConnectException e)
        {
            // The resolver found nothing to send to (no endpoints), or a custom one dialled and failed.
            failure = e.Error;
            cause = e;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            clientGone = true;
        }

        if (failure != ProxyError.None)
        {
            LogForwardFailed(_logger, connection.Direction.Label(), authority, endpoint, failure.Reason(), Innermost(cause));
            if (!context.Response.HasStarted)
            {
                WriteError(context.Response, failure, isGrpc);
            }
        }

        var status = clientGone && !context.Response.HasStarted ? 0 : context.Response.StatusCode;
        var grpcStatus = ReadGrpcStatus(context);
        if (grpcStatus < 0 && isGrpc)
        {
            // No status reached the client: it reset the stream (CANCELLED) or the upstream broke mid-stream.
            grpcStatus = clientGone ? 1 : failure != ProxyError.None ? failure.GrpcStatus() : -1;
        }

        var classification = ResponseClassifier.Classify(status, grpcStatus);
        route.RecordResponse(status, classification, grpcStatus, _time.GetElapsedTime(start).TotalMilliseconds, destination);
        completion.Complete(failed: classification == ResponseClass.Failure && !clientGone);
    }

    /// <summary>
    /// A plain client gets the error as a status code; a gRPC client only reads grpc-status, so
    /// it gets a 200 with a trailers-only UNAVAILABLE/DEADLINE_EXCEEDED (as Linkerd answers).
    /// Both carry the reason in <c>trellis-proxy-error</c>.
    /// </summary>
    private static void WriteError(HttpResponse response, ProxyError failure, bool isGrpc)
    {
        response.Clear();
        response.Headers[ProxyErrorHeader] = failure.Reason();
        if (isGrpc)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers.GrpcStatus = failure.GrpcStatus() == 4 ? "4" : "14";
            response.Headers.GrpcMessage = failure.Reason();
        }
        else
        {
            response.StatusCode = failure.StatusCode();
            response.ContentLength = 0;
        }
    }

    /// <summary>grpc-status from the trailers, or from the headers of a trailers-only response; -1 if none.</summary>
    private static int ReadGrpcStatus(HttpContext context)
    {
        var value = context.Response.Headers.GrpcStatus;
        if (StringValues.IsNullOrEmpty(value))
        {
            var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
            value = trailers is null ? StringValues.Empty : trailers.GrpcStatus;
        }

        return int.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : -1;
    }

    /// <summary>application/grpc and application/grpc+proto etc.; gRPC-Web carries its status in the body.</summary>
    private static bool IsGrpc(string? contentType) =>
        contentType is not null &&
        contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) &&
        !contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The endpoint's IP:port goes into the request URI so SocketsHttpHandler keeps one pool of
    /// multiplexed connections per endpoint; the client's authority travels as :authority.
    /// </summary>
    private string Prefix(IPEndPoint endpoint) =>
        _prefixes.GetOrAdd(endpoint, static e => "http://" + e.ToString());

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

    [LoggerMessage(1, LogLevel.Warning, "{Direction} HTTP/2 request for {Authority} to {Endpoint} failed: {Reason} ({Detail})")]
    private static partial void LogForwardFailed(ILogger logger, string direction, string authority, IPEndPoint? endpoint, string reason, string? detail);

    private readonly record struct RouteKey(TrafficDirection Direction, bool Tls, string Authority, string? ClientId);
}
