using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.ControlPlane;

internal static partial class ControlPlaneLog
{
    [LoggerMessage(100, LogLevel.Debug, "Destination {Path}: stream open")]
    public static partial void StreamOpened(ILogger logger, string path);

    [LoggerMessage(101, LogLevel.Information, "Destination {Path}: stream ended by the controller; reconnecting in {Delay}")]
    public static partial void StreamEnded(ILogger logger, string path, TimeSpan delay);

    [LoggerMessage(102, LogLevel.Warning, "Destination {Path}: controller unavailable ({Status}: {Detail}); serving the last known endpoints, reconnecting in {Delay}")]
    public static partial void StreamFailed(ILogger logger, string path, StatusCode status, string detail, TimeSpan delay);

    [LoggerMessage(103, LogLevel.Warning, "Destination {Path}: controller sent an endpoint with an invalid address ({Length} address bytes, port {Port}); skipped")]
    public static partial void InvalidAddress(ILogger logger, string path, int length, uint port);

    [LoggerMessage(104, LogLevel.Debug, "Destination {Path}: {Count} endpoints ({State})")]
    public static partial void EndpointsUpdated(ILogger logger, string path, int count, DestinationState state);

    [LoggerMessage(105, LogLevel.Debug, "Destination {Path}: idle, stream closed")]
    public static partial void Evicted(ILogger logger, string path);

    [LoggerMessage(106, LogLevel.Warning, "Destination streams at their limit ({Limit}); {Path} resolves to its original destination")]
    public static partial void TooManyDestinations(ILogger logger, int limit, string path);

    [LoggerMessage(110, LogLevel.Information, "Identity {Identity}: certificate issued, valid until {ValidUntil}, renewing at {RenewAt}")]
    public static partial void Certified(ILogger logger, string identity, DateTimeOffset validUntil, DateTimeOffset renewAt);

    [LoggerMessage(111, LogLevel.Warning, "Identity {Identity}: certification failed ({Reason}); retrying in {Delay}")]
    public static partial void CertifyFailed(ILogger logger, string identity, string reason, TimeSpan delay);
}
