using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Primitives;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// The mesh identity the control plane certifies: each certificate <see cref="IdentityClient"/>
/// obtains (first and every renewal) becomes the <see cref="Current"/> identity for the next
/// TLS handshake. Old certificates are not disposed: handshakes in flight may still use them.
/// </summary>
public sealed class ControlPlaneIdentitySource : IIdentitySource, IDisposable
{
    private readonly X509Certificate2Collection _anchors;
    private MeshIdentity? _current;
    private CancellationTokenSource _changed = new();

    public ControlPlaneIdentitySource(IdentityClient client, X509Certificate2Collection anchors)
    {
        _anchors = anchors;
        client.Changed += OnCertified;
        if (client.Current is { } certificate)
        {
            OnCertified(client, certificate);
        }
    }

    /// <exception cref="InvalidOperationException">No certificate has been issued yet.</exception>
    public MeshIdentity Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("The control plane has not certified this proxy's identity yet.");

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    public void Dispose() => _changed.Dispose();

    private void OnCertified(object? sender, WorkloadCertificate certificate)
    {
        Volatile.Write(ref _current, new MeshIdentity(certificate.Certificate, certificate.Intermediates, _anchors));
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }
}
