using Microsoft.Extensions.Logging;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Detection;

/// <summary>
/// Peeks at a connection's first bytes, without consuming them, until
/// <see cref="ProtocolDetector"/> decides, then hands the connection to the HTTP/1, HTTP/2,
/// TLS or opaque continuation. A client that stays silent past the timeout goes opaque:
/// like Linkerd, availability wins over certainty, so a server-speaks-first protocol on a
/// port nobody marked opaque still works, only later. After a timeout the bytes seen so far
/// are still unconsumed but a cancelled read does not re-arm the pipe, so the opaque path
/// reads with TryRead before ReadAsync (see <see cref="Tcp.PipeCopy"/>).
/// </summary>
public sealed partial class DetectProtocolLayer
{
    private readonly ProxyConnectionHandler _http1;
    private readonly ProxyConnectionHandler _http2;
    private readonly ProxyConnectionHandler _tls;
    private readonly ProxyConnectionHandler _opaque;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public DetectProtocolLayer(
        ProxyConnectionHandler http1,
        ProxyConnectionHandler http2,
        ProxyConnectionHandler tls,
        ProxyConnectionHandler opaque,
        TimeSpan timeout,
        TimeProvider time,
        ILogger logger)
    {
        _http1 = http1;
        _http2 = http2;
        _tls = tls;
        _opaque = opaque;
        _timeout = timeout;
        _time = time;
        _logger = logger;
    }

    public async Task InvokeAsync(ProxyConnection connection)
    {
        connection.Protocol = await DetectAsync(connection);
        LogDetected(_logger, connection.Direction.Label(), connection.Protocol, connection.Target);
        var next = connection.Protocol switch
        {
            DetectedProtocol.Http1 => _http1,
            DetectedProtocol.Http2 => _http2,
            DetectedProtocol.Tls => _tls,
            _ => _opaque,
        };
        await next(connection);
    }

    private async Task<DetectedProtocol> DetectAsync(ProxyConnection connection)
    {
        var input = connection.Transport.Input;
        // The timer cancels the pending read rather than the token-based read so that the
        // pipe stays usable: the bytes seen so far must still reach the opaque path.
        await using var timer = _time.CreateTimer(static state => ((System.IO.Pipelines.PipeReader)state!).CancelPendingRead(), input, _timeout, Timeout.InfiniteTimeSpan);
        while (true)
        {
            var result = await input.ReadAsync(connection.Closed);
            var buffer = result.Buffer;
            var protocol = ProtocolDetector.Detect(buffer, result.IsCompleted);
            if (protocol == DetectedProtocol.Unknown && result.IsCanceled)
            {
                LogTimedOut(_logger, connection.Direction.Label(), connection.Target, buffer.Length);
                protocol = DetectedProtocol.Opaque;
            }

            if (protocol != DetectedProtocol.Unknown)
            {
                // Nothing consumed and nothing examined: the next reader starts from byte 0
                // and its first read returns at once.
                input.AdvanceTo(buffer.Start);
                return protocol;
            }

            // Nothing consumed, everything examined: wait for more bytes.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    [LoggerMessage(10, LogLevel.Debug, "{Direction} connection to {Target} detected as {Protocol}")]
    private static partial void LogDetected(ILogger logger, string direction, DetectedProtocol protocol, System.Net.IPEndPoint target);

    [LoggerMessage(11, LogLevel.Information, "{Direction} connection to {Target}: protocol detection timed out after {Bytes} bytes; forwarding as opaque TCP")]
    private static partial void LogTimedOut(ILogger logger, string direction, System.Net.IPEndPoint target, long bytes);
}
