using System.Net;
using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.Http.Http1;

internal sealed partial class Http1Session
{
    [LoggerMessage(100, LogLevel.Debug, "{Direction} HTTP/1 request rejected: {Error}")]
    private static partial void LogRequestRejected(ILogger logger, string direction, Http1ParseError error);

    [LoggerMessage(101, LogLevel.Warning, "{Direction} HTTP/1 request to {Authority} via {Endpoint} failed: {Reason}")]
    private static partial void LogUpstreamFailed(ILogger logger, string direction, string? authority, IPEndPoint? endpoint, string reason);

    [LoggerMessage(102, LogLevel.Warning, "{Direction} HTTP/1 request to {Authority}: no endpoint")]
    private static partial void LogResolveFailed(ILogger logger, string direction, string? authority, Exception exception);

    [LoggerMessage(103, LogLevel.Warning, "{Direction} HTTP/1 response from {Authority} rejected: {Error}")]
    private static partial void LogInvalidResponse(ILogger logger, string direction, string? authority, Http1ParseError error);

    [LoggerMessage(104, LogLevel.Error, "{Direction} HTTP/1 session failed")]
    private static partial void LogSessionFailed(ILogger logger, string direction, Exception exception);
}
