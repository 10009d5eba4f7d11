using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tcp;

/// <summary>
/// Opaque TCP: dials the connection's destination and moves bytes both ways until both sides
/// have finished. The end of every stack for traffic that is not HTTP (or not detected in time).
/// Balances per connection, since nothing inside the stream can be routed.
/// </summary>
public sealed partial class TcpForwardLayer
{
    private readonly IDestinationResolver _resolver;
    private readonly IUpstreamConnector _connector;
    private readonly ILogger _logger;

    public TcpForwardLayer(IDestinationResolver resolver, IUpstreamConnector connector, ILogger logger)
    {
        _resolver = resolver;
        _connector = connector;
        _logger = logger;
    }

    public async Task InvokeAsync(ProxyConnection connection)
    {
        // Not connection.Closed: Kestrel fires it on the client's FIN, and a half-closed
        // opaque client (send, shut down writing, read the answer) is still a live client.
        var endpoint = await _resolver.ResolveAsync(connection, authority: null, CancellationToken.None);
        ConnectionContext upstream;
        try
        {
            upstream = await _connector.ConnectAsync(endpoint, CancellationToken.None);
            endpoint.Completion.Complete(failed: false);
        }
        catch (UpstreamConnectException e)
        {
            endpoint.Completion.Complete(failed: true);
            // An opaque client cannot be told why; closing at once is the honest answer.
            LogConnectFailed(_logger, connection.Direction.Label(), e.Endpoint, e.Error.Reason());
            return;
        }

        await using (upstream)
        {
            try
            {
                await PipeCopy.BidirectionalAsync(connection.Transport, upstream.Transport, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or ConnectionAbortedException)
            {
                LogStreamEnded(_logger, connection.Direction.Label(), endpoint.Address, e.Message);
            }
        }
    }

    [LoggerMessage(20, LogLevel.Warning, "{Direction} TCP connect to {Endpoint} failed: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string direction, System.Net.IPEndPoint endpoint, string reason);

    [LoggerMessage(21, LogLevel.Debug, "{Direction} TCP stream to {Endpoint} ended with an error: {Message}")]
    private static partial void LogStreamEnded(ILogger logger, string direction, System.Net.IPEndPoint endpoint, string message);
}
