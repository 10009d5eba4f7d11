using Microsoft.Extensions.Logging;
using Trellis.Proxy.Balancing;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.ControlPlane;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// Where the mesh comes from, decided once from the flags: the identity (files, the control
/// plane, or none) and the outbound resolver (the control plane's destination service, or each
/// connection's own target). Owns the control-plane clients it starts.
/// </summary>
public sealed class MeshSetup : IAsyncDisposable
{
    private readonly IAsyncDisposable[] _owned;

    private MeshSetup(IIdentitySource? identity, Task identityReady, IDestinationResolver outboundResolver, params IAsyncDisposable[] owned)
    {
        Identity = identity;
        IdentityReady = identityReady;
        OutboundResolver = outboundResolver;
        _owned = owned;
    }

    /// <summary>This proxy's mesh identity; null when it has none (plaintext only).</summary>
    public IIdentitySource? Identity { get; }

    /// <summary>Completes once the identity can be used for handshakes (at once for files or none).</summary>
    public Task IdentityReady { get; }

    public IDestinationResolver OutboundResolver { get; }

    /// <exception cref="IdentityLoadException">The identity files are missing or invalid.</exception>
    /// <exception cref="IOException">The trust anchor file cannot be read.</exception>
    public static MeshSetup Create(ProxyOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        // --identity-dir and --identity exclude each other (ProxyOptions.Validate).
        var files = options.IdentityDirectory is null ? null : new FileIdentitySource(options.IdentityDirectory, time);
        if (options.Controller is null)
        {
            return new MeshSetup(files, Task.CompletedTask, new TargetAddressResolver(options.OutboundDestinationIdentity));
        }

        var logger = loggerFactory.CreateLogger("trellis.proxy.control-plane");
        var anchors = TrustAnchors.Load(options.TrustAnchor!);
        var channel = ControllerChannel.Create(
            new ControlPlaneOptions { Controller = options.Controller, ControllerName = options.ControllerName, TrustAnchorPath = options.TrustAnchor! },
            anchors,
            time);
        var destinations = new DestinationClient(
            new Trellis.Api.Destination.V1.Destination.DestinationClient(channel),
            new DestinationClientOptions { ContextToken = options.Identity ?? string.Empty },
            new PeakEwmaOptions(),
            time,
            logger);
        var resolver = new ControlPlaneResolver(destinations, time, options.ResolveTimeout);
        var channelOwner = new DisposeAction(channel.Dispose);

        if (options.Identity is null)
        {
            return new MeshSetup(files, Task.CompletedTask, resolver, destinations, channelOwner);
        }

        var certifier = new IdentityClient(
            new Trellis.Api.Identity.V1.Identity.IdentityClient(channel),
            new IdentityClientOptions { Identity = options.Identity, TokenPath = options.IdentityTokenFile! },
            anchors,
            time,
            logger);
        var identity = new ControlPlaneIdentitySource(certifier, anchors);
        certifier.Start();
        return new MeshSetup(identity, certifier.FirstCertificate, resolver, certifier, destinations, channelOwner, new DisposeAction(identity.Dispose));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        (Identity as IDisposable)?.Dispose();
    }

    private sealed class DisposeAction(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
