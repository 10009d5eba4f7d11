using System.Collections.Concurrent;
using Trellis.Proxy.ControlPlane;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Resolves through the destination service and balances per request: an HTTP request by its
/// authority when that names an in-cluster service, otherwise (and for TCP) by the
/// connection's original destination IP:port. Whatever the controller does not know, or
/// cannot answer in time, goes to the original destination unchanged: meshing must never
/// break traffic the mesh does not know about.
/// </summary>
public sealed class ControlPlaneResolver : IDestinationResolver
{
    private readonly DestinationClient _client;
    private readonly TimeProvider _time;
    private readonly TimeSpan _resolveTimeout;
    private readonly int _maxCachedAuthorities;
    // Raw authority -> destination path, so a request normalises no string once its authority was seen.
    private readonly ConcurrentDictionary<string, string> _paths = new(StringComparer.Ordinal);

    /// <param name="resolveTimeout">How long a request waits for a destination's first answer before it falls back.</param>
    public ControlPlaneResolver(DestinationClient client, TimeProvider time, TimeSpan resolveTimeout, int maxCachedAuthorities = 1000)
    {
        if (resolveTimeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(resolveTimeout), resolveTimeout, "The resolve timeout must not be negative.");
        _client = client;
        _time = time;
        _resolveTimeout = resolveTimeout;
        _maxCachedAuthorities = maxCachedAuthorities;
    }

    public async ValueTask<UpstreamEndpoint> ResolveAsync(ProxyConnection connection, string? authority, CancellationToken cancellationToken)
    {
        var path = authority is null ? DestinationPath.ForAddress(connection.Target) : PathFor(authority, connection);
        var watch = _client.Watch(path);
        if (watch is null)
            return new UpstreamEndpoint(connection.Target);

        if (!watch.Ready.IsCompleted)
        {
            try
            {
                await watch.Ready.WaitAsync(_resolveTimeout, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return new UpstreamEndpoint(connection.Target);
            }
        }

        var picked = watch.Balancer.Pick();
        if (picked is null)
            return new UpstreamEndpoint(connection.Target);

        var endpoint = picked.Value;
        return new UpstreamEndpoint(picked.Address)
        {
            Identity = endpoint.Identity,
            ProtocolHint = endpoint.ProtocolHint,
            Labels = endpoint.Labels,
            Completion = picked.Start(),
        };
    }

    private string PathFor(string authority, ProxyConnection connection)
    {
        if (_paths.TryGetValue(authority, out var cached))
            return cached;

        // A name that is no service (external, one label, malformed) is resolved by the address the client dialled.
        if (!DestinationPath.TryNormalizeAuthority(authority, out var path))
            return DestinationPath.ForAddress(connection.Target);

        // Authorities come from clients: bound the cache, start over when it is full.
        if (_paths.Count >= _maxCachedAuthorities)
            _paths.Clear();
        _paths[authority] = path;
        return path;
    }
}
