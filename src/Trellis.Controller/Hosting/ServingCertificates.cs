using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Trellis.Controller.Identity;

namespace Trellis.Controller.Hosting;

/// <summary>
/// The controller's serving certificate, issued from the mesh CA at start and re-issued at 70% of
/// its lifetime, handed to Kestrel per handshake with the issuer as intermediate so clients can
/// build the chain up to the trust anchor they hold.
/// </summary>
public sealed class ServingCertificates : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private readonly CertificateAuthority _ca;
    private readonly IReadOnlyList<IPAddress> _addresses;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private SslServerAuthenticationOptions _current = null!;
    private X509Certificate2 _certificate = null!;
    private DateTimeOffset _renewAt;

    /// <summary>Issues the first certificate for <paramref name="addresses"/> (plus localhost names).</summary>
    public ServingCertificates(CertificateAuthority ca, IReadOnlyList<IPAddress> addresses, TimeProvider time)
    {
        _ca = ca;
        _addresses = addresses;
        _time = time;
        Issue();
    }

    /// <summary>DNS names in the certificate.</summary>
    public static IReadOnlyList<string> DnsNames { get; } = ["localhost", "trellis-controller", "controller.trellis.svc.cluster.local"];

    /// <summary>Expiry of the current certificate.</summary>
    public DateTimeOffset NotAfter => new(Volatile.Read(ref _certificate).NotAfter.ToUniversalTime());

    /// <summary>TLS options for the next handshake, renewing the certificate when due.</summary>
    public SslServerAuthenticationOptions Current
    {
        get
        {
            if (_time.GetUtcNow() >= _renewAt)
            {
                lock (_gate)
                {
                    if (_time.GetUtcNow() >= _renewAt)
                    {
                        Issue();
                    }
                }
            }

            return Volatile.Read(ref _current);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _certificate.Dispose();

    private void Issue()
    {
        var certificate = _ca.IssueServing(DnsNames, _addresses, Lifetime);
        var intermediates = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(_ca.Issuer.RawData) };
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true),
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            ClientCertificateRequired = false,
        };
        var issuedAt = _time.GetUtcNow();
        _renewAt = issuedAt + (new DateTimeOffset(certificate.NotAfter.ToUniversalTime()) - issuedAt) * 0.7;
        // The old certificate stays alive: connections already established may still reference it.
        Volatile.Write(ref _certificate, certificate);
        Volatile.Write(ref _current, options);
    }
}
