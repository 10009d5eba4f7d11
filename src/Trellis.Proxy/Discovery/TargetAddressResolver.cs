using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Sends every connection and request where its client meant it to go: the original
/// destination (intercepted), the static destination (not intercepted), or the local
/// application (inbound). A static destination may be named with the mesh identity it must
/// prove, which makes that hop mTLS.
/// </summary>
public sealed class TargetAddressResolver : IDestinationResolver
{
    private readonly string? _identity;

    /// <param name="identity">The SPIFFE ID every target must prove, or null for plaintext.</param>
    public TargetAddressResolver(string? identity = null)
    {
        _identity = identity;
    }

    public ValueTask<UpstreamEndpoint> ResolveAsync(ProxyConnection connection, string? authority, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new UpstreamEndpoint(connection.Target) { Identity = _identity });
}
