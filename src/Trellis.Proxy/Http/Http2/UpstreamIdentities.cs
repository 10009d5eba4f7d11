using System.Collections.Concurrent;
using System.Net;
using Trellis.Proxy.Discovery;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The mesh identity of each upstream address the HTTP/2 client has been asked to reach.
/// SocketsHttpHandler dials from the request URI alone, so the identity discovery returned for
/// a request is remembered here, by address, for its connect callback to find. An address
/// keeps one identity: it is one peer proxy's inbound port.
/// </summary>
internal sealed class UpstreamIdentities
{
    private readonly ConcurrentDictionary<IPEndPoint, string> _byAddress = new();

    public void Remember(in UpstreamEndpoint endpoint)
    {
        if (endpoint.Identity is { } identity && (!_byAddress.TryGetValue(endpoint.Address, out var known) || known != identity))
        {
            _byAddress[endpoint.Address] = identity;
        }
    }

    public string? Find(IPEndPoint address) => _byAddress.TryGetValue(address, out var identity) ? identity : null;
}
