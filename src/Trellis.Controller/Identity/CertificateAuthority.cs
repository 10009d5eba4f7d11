using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Trellis.Controller.State;

namespace Trellis.Controller.Identity;

/// <summary>
/// The mesh CA: a long-lived trust anchor (ECDSA P-256, 10 years) signs an issuer (1 year), and
/// the issuer signs short-lived workload certificates from CSRs. The workload's key is generated
/// in the proxy; only its public key reaches us inside the CSR. Both CA keys live in the state
/// directory with mode 0600 and are reused on every start.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>Lifetime of a newly created trust anchor.</summary>
    public static readonly TimeSpan TrustAnchorLifetime = TimeSpan.FromDays(3650);

    /// <summary>Lifetime of a newly created issuer.</summary>
    public static readonly TimeSpan IssuerLifetime = TimeSpan.FromDays(365);

    /// <summary>An issuer closer than this to expiry is replaced on start.</summary>
    public static readonly TimeSpan IssuerRenewBefore = TimeSpan.FromDays(30);

    // Certificates start slightly in the past so a peer whose clock lags a little accepts them.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time;

    private CertificateAuthority(X509Certificate2 trustAnchor, X509Certificate2 issuer, string trustDomain, TimeProvider time)
    {
        TrustAnchor = trustAnchor;
        Issuer = issuer;
        TrustDomain = trustDomain;
        _time = time;
    }

    /// <summary>The root every mesh participant trusts (public part only).</summary>
    public X509Certificate2 TrustAnchor { get; }

    /// <summary>The issuer, with its private key.</summary>
    public X509Certificate2 Issuer { get; }

    /// <summary>The SPIFFE trust domain, e.g. <c>cluster.local</c>.</summary>
    public string TrustDomain { get; }

    /// <summary>
    /// Loads the trust anchor and issuer from <paramref name="state"/>, creating what is missing:
    /// a new anchor (and issuer) when there is none, a new issuer when it is missing, not signed by
    /// the anchor, or within <see cref="IssuerRenewBefore"/> of expiry.
    /// </summary>
    /// <exception cref="InvalidOperationException">The existing trust anchor has expired or is unreadable.</exception>
    public static CertificateAuthority LoadOrCreate(StateDirectory state, string trustDomain, TimeProvider time)
    {
        state.EnsureExists();
        var now = time.GetUtcNow();
        X509Certificate2 anchor;
        if (File.Exists(state.TrustAnchorCertificate) && File.Exists(state.TrustAnchorKey))
        {
            anchor = LoadPair(state.TrustAnchorCertificate, state.TrustAnchorKey, "trust anchor");
            if (anchor.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            {
                throw new InvalidOperationException(
                    $"the trust anchor in {state.TrustAnchorCertificate} expired on {anchor.NotAfter:u}; " +
                    $"remove {state.Root} and run `trellis install --hosts` to create a new one");
            }
        }
        else
        {
            anchor = CreateTrustAnchor(trustDomain, now);
            StateDirectory.WriteSecret(state.TrustAnchorKey, Pem.Key(anchor));
            StateDirectory.WritePublic(state.TrustAnchorCertificate, Pem.Certificate(anchor));
            File.Delete(state.IssuerCertificate);
        }

        X509Certificate2? issuer = null;
        if (File.Exists(state.IssuerCertificate) && File.Exists(state.IssuerKey))
        {
            issuer = LoadPair(state.IssuerCertificate, state.IssuerKey, "issuer");
            var usable = issuer.NotAfter.ToUniversalTime() - now.UtcDateTime > IssuerRenewBefore
                && ChainVerifier.Verify(issuer, [], anchor, now, requireCa: true).IsValid;
            if (!usable)
            {
                issuer.Dispose();
                issuer = null;
            }
        }

        if (issuer is null)
        {
            issuer = CreateIssuer(anchor, trustDomain, now);
            StateDirectory.WriteSecret(state.IssuerKey, Pem.Key(issuer));
            StateDirectory.WritePublic(state.IssuerCertificate, Pem.Certificate(issuer));
        }

        var anchorPublic = X509CertificateLoader.LoadCertificate(anchor.RawData);
        anchor.Dispose();
        return new CertificateAuthority(anchorPublic, issuer, trustDomain, time);
    }

    /// <summary>
    /// Signs a workload certificate for <paramref name="spiffeId"/> from a DER PKCS#10 request.
    /// The request's signature must verify (proof the caller holds the key), its key must be ECDSA,
    /// and any URI SAN it asks for must be exactly <paramref name="spiffeId"/>.
    /// </summary>
    /// <exception cref="CertificateRequestException">The request is malformed or asks for another identity.</exception>
    public X509Certificate2 SignWorkload(ReadOnlySpan<byte> csrDer, string spiffeId, TimeSpan lifetime)
    {
        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequest(csrDer, HashAlgorithmName.SHA256, out var consumed,
                CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
            if (consumed != csrDer.Length)
            {
                throw new CertificateRequestException(false, "the CSR has trailing bytes after the PKCS#10 request");
            }
        }
        catch (CryptographicException e)
        {
            throw new CertificateRequestException(false, $"the CSR is not a valid signed PKCS#10 request: {e.Message}");
        }

        using (var ecKey = csr.PublicKey.GetECDsaPublicKey())
        {
            if (ecKey is null)
            {
                throw new CertificateRequestException(false, "the CSR's key must be ECDSA");
            }
        }

        foreach (var extension in csr.CertificateExtensions)
        {
            if (extension.Oid?.Value == SubjectAltNameOid)
            {
                foreach (var uri in ReadUriNames(extension.RawData))
                {
                    if (!string.Equals(uri, spiffeId, StringComparison.Ordinal))
                    {
                        throw new CertificateRequestException(true, $"the CSR asks for identity {uri}, but the token proves {spiffeId}");
                    }
                }
            }
        }

        var request = new CertificateRequest(new X500DistinguishedName("CN=" + CommonNameOf(spiffeId)), csr.PublicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(ServerAuthOid), new Oid(ClientAuthOid)], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(san.Build(critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(csr.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Issuer, true, false));
        return Sign(request, lifetime);
    }

    /// <summary>
    /// Issues the controller's own serving certificate (new key pair, DNS and IP SANs), so clients
    /// verify the controller against the same trust anchor as proxies verify each other.
    /// </summary>
    public X509Certificate2 IssueServing(IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=trellis-controller", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }

        san.AddUri(new Uri(SpiffeId.Format(TrustDomain, "trellis", "controller")));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Issuer, true, false));
        using var certificate = Sign(request, lifetime);
        return certificate.CopyWithPrivateKey(key);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        TrustAnchor.Dispose();
        Issuer.Dispose();
    }

    /// <summary>The URI SANs in a DER subjectAltName extension value.</summary>
    internal static List<string> ReadUriNames(ReadOnlyMemory<byte> extensionValue)
    {
        // X509SubjectAlternativeNameExtension enumerates DNS names and IPs only; URIs need the ASN.1.
        var uris = new List<string>();
        var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        while (names.HasData)
        {
            if (names.PeekTag() == uriTag)
            {
                uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
            }
            else
            {
                names.ReadEncodedValue();
            }
        }

        return uris;
    }

    private X509Certificate2 Sign(CertificateRequest request, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        var notAfter = now + lifetime;
        if (notAfter > Issuer.NotAfter.ToUniversalTime())
        {
            // A leaf must not outlive its issuer: clients would refuse the chain before the leaf expires.
            notAfter = new DateTimeOffset(Issuer.NotAfter.ToUniversalTime());
        }

        return request.Create(Issuer, now - ClockSkew, notAfter, NewSerial());
    }

    private static X509Certificate2 CreateTrustAnchor(string trustDomain, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=root.{trustDomain}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now - ClockSkew, now + TrustAnchorLifetime);
    }

    private static X509Certificate2 CreateIssuer(X509Certificate2 anchor, string trustDomain, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=issuer.{trustDomain}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(anchor, true, false));
        var notAfter = now + IssuerLifetime;
        if (notAfter > anchor.NotAfter.ToUniversalTime())
        {
            notAfter = new DateTimeOffset(anchor.NotAfter.ToUniversalTime());
        }

        using var certificate = request.Create(anchor, now - ClockSkew, notAfter, NewSerial());
        return certificate.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 LoadPair(string certificatePath, string keyPath, string what)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot load the {what} from {certificatePath} and {keyPath}: {e.Message}", e);
        }
    }

    private static string CommonNameOf(string spiffeId) => spiffeId["spiffe://".Length..].Replace('/', '.');

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive INTEGER
        return serial;
    }

    private const string SubjectAltNameOid = "2.5.29.17";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
}
