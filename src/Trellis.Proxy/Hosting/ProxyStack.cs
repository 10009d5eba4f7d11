using Trellis.Proxy.Http.Http1;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// A built side: the handler its listener runs for every connection, and the forwarders that
/// hold upstream connections and must be drained and closed at shutdown.
/// </summary>
public sealed class ProxyStack : IAsyncDisposable
{
    private readonly Http1Forwarder _http1;
    private readonly Http2Forwarder _http2;

    public ProxyStack(ProxyConnectionHandler handler, Http1Forwarder http1, Http2Forwarder http2)
    {
        Handler = handler;
        _http1 = http1;
        _http2 = http2;
    }

    public ProxyConnectionHandler Handler { get; }

    /// <summary>GOAWAY to HTTP/2 clients and let their streams finish until the deadline fires.</summary>
    public Task DrainAsync(CancellationToken deadline) => _http2.DrainAsync(deadline);

    public async ValueTask DisposeAsync()
    {
        await _http2.DisposeAsync();
        await _http1.DisposeAsync();
    }
}
