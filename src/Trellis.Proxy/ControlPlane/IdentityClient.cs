using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Trellis.Api.Identity.V1;

namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// Obtains and renews the proxy's workload certificate. Each round makes a fresh ECDSA P-256
/// key here, sends only a CSR naming the SPIFFE ID with the token from the token file, and
/// checks that the answer is a certificate for that key and name chaining to the trust anchor.
/// Renews at <see cref="IdentityClientOptions.RenewAtFraction"/> of the lifetime and retries
/// failures with backoff, keeping the current certificate until a new one is in hand.
/// </summary>
public sealed class IdentityClient : IAsyncDisposable
{
    private readonly Trellis.Api.Identity.V1.Identity.IdentityClient _grpc;
    private readonly IdentityClientOptions _options;
    private readonly X509Certificate2Collection _anchors;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<WorkloadCertificate> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private WorkloadCertificate? _current;

    public IdentityClient(
        Trellis.Api.Identity.V1.Identity.IdentityClient grpc,
        IdentityClientOptions options,
        X509Certificate2Collection anchors,
        TimeProvider time,
        ILogger logger,
        Random? random = null)
    {
        options.Validate();
        if (anchors.Count == 0)
            throw new ArgumentException("At least one trust anchor is needed.", nameof(anchors));
        _grpc = grpc;
        _options = options;
        _anchors = anchors;
        _time = time;
        _logger = logger;
        _random = random ?? Random.Shared;
    }

    /// <summary>Raised (on the renewal loop) with each newly issued certificate.</summary>
    public event EventHandler<WorkloadCertificate>? Changed;

    /// <summary>The latest certificate, or null before the first one arrived.</summary>
    public WorkloadCertificate? Current => Volatile.Read(ref _current);

    /// <summary>Completes with the first certificate.</summary>
    public Task<WorkloadCertificate> FirstCertificate => _first.Task;

    /// <summary>Starts the certify-and-renew loop.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>One certification round: new key, CSR, Certify, checks.</summary>
    /// <exception cref="IdentityException">The token could not be read, the CA refused, or the answer did not fit.</exception>
    public async Task<WorkloadCertificate> CertifyAsync(CancellationToken cancellationToken)
    {
        var token = await ReadTokenAsync(cancellationToken);
        // The key goes into the returned certificate on success and is dropped on any failure.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var csr = BuildSigningRequest(key, _options.Identity);
            var response = await _grpc.CertifyAsync(
                new CertifyRequest
                {
                    Identity = _options.Identity,
                    Token = token,
                    CertificateSigningRequest = ByteString.CopyFrom(csr),
                },
                cancellationToken: cancellationToken);
            return Accept(response, key);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            key.Dispose();
            throw new IdentityException($"the identity service refused: {e.StatusCode}: {e.Status.Detail}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    internal static byte[] BuildSigningRequest(ECDsa key, string identity)
    {
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity));
        request.CertificateExtensions.Add(names.Build(critical: true));
        return request.CreateSigningRequest();
    }

    private async Task RunAsync()
    {
        var attempt = 0;
        while (!_stop.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                var issued = await CertifyAsync(_stop.Token);
                Volatile.Write(ref _current, issued);
                attempt = 0;
                var renewAt = issued.RenewAt(_options.RenewAtFraction);
                ControlPlaneLog.Certified(_logger, issued.Identity, issued.ValidUntil, renewAt);
                _first.TrySetResult(issued);
                Changed?.Invoke(this, issued);
                delay = renewAt - _time.GetUtcNow();
                if (delay < TimeSpan.Zero)
                    delay = TimeSpan.Zero;
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                delay = _options.Backoff.Delay(attempt++, _random);
                ControlPlaneLog.CertifyFailed(_logger, _options.Identity, e.Message, delay);
            }

            try
            {
                await Task.Delay(delay, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        _first.TrySetCanceled(_stop.Token);
    }

    private async Task<string> ReadTokenAsync(CancellationToken cancellationToken)
    {
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(_options.TokenPath, cancellationToken)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IdentityException($"cannot read the identity token file '{_options.TokenPath}': {e.Message}", e);
        }
        if (token.Length == 0)
            throw new IdentityException($"the identity token file '{_options.TokenPath}' is empty");
        return token;
    }

    private WorkloadCertificate Accept(CertifyResponse response, ECDsa key)
    {
        X509Certificate2 leaf;
        var intermediates = new X509Certificate2Collection();
        try
        {
            leaf = X509CertificateLoader.LoadCertificate(response.LeafCertificate.Span);
            foreach (var der in response.IntermediateCertificates)
                intermediates.Add(X509CertificateLoader.LoadCertificate(der.Span));
        }
        catch (CryptographicException e)
        {
            throw new IdentityException("the identity service sent a certificate that does not parse", e);
        }

        using (var issuedKey = leaf.GetECDsaPublicKey())
        {
            if (issuedKey is null || !issuedKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                throw new IdentityException("the issued certificate is not for this proxy's key");
        }
        if (!CertificateNames.HasUri(leaf, _options.Identity))
            throw new IdentityException($"the issued certificate does not name {_options.Identity}");

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        if (!chain.Build(leaf))
        {
            var status = chain.ChainStatus.Length > 0 ? chain.ChainStatus[0].StatusInformation : "unknown";
            throw new IdentityException($"the issued certificate does not chain to the trust anchor: {status}");
        }

        var withKey = leaf.CopyWithPrivateKey(key);
        leaf.Dispose();
        return new WorkloadCertificate(
            _options.Identity,
            withKey,
            intermediates,
            new DateTimeOffset(withKey.NotBefore.ToUniversalTime()),
            new DateTimeOffset(withKey.NotAfter.ToUniversalTime()));
    }
}
