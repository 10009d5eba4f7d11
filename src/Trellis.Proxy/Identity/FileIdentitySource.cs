using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Primitives;

namespace Trellis.Proxy.Identity;

/// <summary>
/// Loads the proxy's identity from PEM files in one directory, the layout of a Kubernetes TLS
/// Secret plus its CA: <c>tls.crt</c> (leaf first, then its issuer chain), <c>tls.key</c>
/// (the leaf's ECDSA P-256 private key) and <c>ca.crt</c> (trust anchors). Every problem is
/// reported as an <see cref="IdentityLoadException"/> naming the file, and a failed
/// <see cref="Reload"/> keeps the identity that was loaded before.
/// </summary>
public sealed class FileIdentitySource : IIdentitySource, IDisposable
{
    public const string CertificateFile = "tls.crt";
    public const string KeyFile = "tls.key";
    public const string TrustAnchorsFile = "ca.crt";

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string P256Oid = "1.2.840.10045.3.1.7";

    private readonly string _directory;
    private readonly TimeProvider _time;
    private MeshIdentity _current;
    private CancellationTokenSource _changed = new();

    /// <exception cref="IdentityLoadException">The files are missing, invalid, mismatched or expired.</exception>
    public FileIdentitySource(string directory, TimeProvider time)
    {
        _directory = directory;
        _time = time;
        _current = Load();
    }

    public MeshIdentity Current => Volatile.Read(ref _current);

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>Reads the files again and, when they are valid, makes them current.</summary>
    /// <exception cref="IdentityLoadException">The new files are invalid; the old identity stays.</exception>
    public MeshIdentity Reload()
    {
        var identity = Load();
        Volatile.Write(ref _current, identity);
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
        return identity;
    }

    public void Dispose() => _changed.Dispose();

    private MeshIdentity Load()
    {
        var certPath = Path.Combine(_directory, CertificateFile);
        var keyPath = Path.Combine(_directory, KeyFile);
        var caPath = Path.Combine(_directory, TrustAnchorsFile);
        var now = _time.GetUtcNow();

        var chain = ReadCertificates(certPath);
        var anchors = ReadCertificates(caPath);
        var leafWithoutKey = chain[0];
        CheckValidity(certPath, leafWithoutKey, "certificate", now);
        foreach (var anchor in anchors)
        {
            CheckValidity(caPath, anchor, $"trust anchor '{anchor.Subject}'", now);
        }

        using var publicKey = leafWithoutKey.GetECDsaPublicKey()
            ?? throw new IdentityLoadException(certPath, "the leaf certificate's key is not ECDSA (mesh identities are ECDSA P-256)");
        if (publicKey.ExportParameters(false).Curve.Oid?.Value != P256Oid)
        {
            throw new IdentityLoadException(certPath, "the leaf certificate's key is not on curve P-256");
        }

        var leaf = AttachKey(leafWithoutKey, keyPath);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        if (!SpiffeId.TryFromCertificate(leaf, out _, out var idError))
        {
            throw new IdentityLoadException(certPath, $"the leaf certificate carries no mesh identity: {idError}");
        }

        var identity = new MeshIdentity(leaf, intermediates, anchors);
        CheckChain(certPath, identity, now);
        return identity;
    }

    private static X509Certificate2Collection ReadCertificates(string path)
    {
        var pem = ReadFile(path);
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new IdentityLoadException(path, $"invalid PEM certificate: {e.Message}", e);
        }

        if (certificates.Count == 0)
        {
            throw new IdentityLoadException(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) found");
        }

        return certificates;
    }

    private static X509Certificate2 AttachKey(X509Certificate2 leaf, string keyPath)
    {
        var pem = ReadFile(keyPath);
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (ArgumentException e)
        {
            throw new IdentityLoadException(keyPath, "no PEM ECDSA private key (PRIVATE KEY or EC PRIVATE KEY) found", e);
        }
        catch (CryptographicException e)
        {
            throw new IdentityLoadException(keyPath, $"invalid ECDSA private key: {e.Message}", e);
        }

        try
        {
            return leaf.CopyWithPrivateKey(key);
        }
        catch (ArgumentException e)
        {
            throw new IdentityLoadException(keyPath, $"the private key does not match the certificate in {CertificateFile}", e);
        }
        catch (CryptographicException e)
        {
            throw new IdentityLoadException(keyPath, $"the private key does not match the certificate in {CertificateFile}", e);
        }
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException e)
        {
            throw new IdentityLoadException(path, "file not found", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new IdentityLoadException(path, "directory not found", e);
        }
        catch (IOException e)
        {
            throw new IdentityLoadException(path, $"cannot read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IdentityLoadException(path, $"cannot read: {e.Message}", e);
        }
    }

    private static void CheckValidity(string path, X509Certificate2 certificate, string what, DateTimeOffset now)
    {
        if (certificate.NotAfter.ToUniversalTime() <= now)
        {
            throw new IdentityLoadException(path, $"{what} expired at {certificate.NotAfter.ToUniversalTime():O}");
        }

        if (certificate.NotBefore.ToUniversalTime() > now)
        {
            throw new IdentityLoadException(path, $"{what} is not valid before {certificate.NotBefore.ToUniversalTime():O}");
        }
    }

    /// <summary>Refuses a leaf that peers would refuse: one that does not chain to ca.crt.</summary>
    private static void CheckChain(string path, MeshIdentity identity, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy = identity.CreateChainPolicy(ServerAuthOid);
        chain.ChainPolicy.ExtraStore.AddRange(identity.Intermediates);
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(identity.Certificate))
        {
            throw new IdentityLoadException(
                path, $"the leaf certificate does not chain to a trust anchor in {TrustAnchorsFile}: {ChainErrors.Describe(chain)}");
        }
    }
}
