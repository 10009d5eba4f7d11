using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Sends every connection and request where its client meant it to go: the original
/// destination (intercepted), the static destination (not intercepted), or the local
/// application (inbound).
/// </summary>
public sealed class TargetAddressResolver : IDestinationResolver
{
    public ValueTask<UpstreamEndpoint> ResolveAsync(ProxyConnection connection, string? authority, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new UpstreamEndpoint(connection.Target));
}
