using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Trellis.Api.Identity.V1;
using Trellis.Controller.Tokens;

namespace Trellis.Controller.Identity;

/// <summary>
/// The identity API: signs a workload certificate for the identity a token proves. The token is
/// checked first (UNAUTHENTICATED), then that the requested identity is the token's
/// (PERMISSION_DENIED), then the CSR itself (INVALID_ARGUMENT, or PERMISSION_DENIED when it asks
/// for another name).
/// </summary>
public sealed partial class IdentityService : Api.Identity.V1.Identity.IdentityBase
{
    private readonly CertificateAuthority _ca;
    private readonly WorkloadTokens _tokens;
    private readonly IdentityLedger _ledger;
    private readonly ControllerOptions _options;
    private readonly ILogger<IdentityService> _logger;

    /// <summary>Creates the service.</summary>
    public IdentityService(CertificateAuthority ca, WorkloadTokens tokens, IdentityLedger ledger, ControllerOptions options, ILogger<IdentityService> logger)
    {
        _ca = ca;
        _tokens = tokens;
        _ledger = ledger;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc/>
    public override Task<CertifyResponse> Certify(CertifyRequest request, ServerCallContext context) => Task.FromResult(Certify(request));

    /// <summary>The synchronous core, shared with tests.</summary>
    public CertifyResponse Certify(CertifyRequest request)
    {
        var token = _tokens.Validate(request.Token);
        if (!token.IsValid)
        {
            LogRefused(_logger, request.Identity, token.Error);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "invalid workload token: " + token.Error));
        }

        var proven = SpiffeId.Format(_ca.TrustDomain, token.Namespace, token.ServiceAccount);
        if (!string.Equals(request.Identity, proven, StringComparison.Ordinal))
        {
            LogRefused(_logger, request.Identity, "token proves " + proven);
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"the token proves {proven}, not the requested identity '{request.Identity}'"));
        }

        System.Security.Cryptography.X509Certificates.X509Certificate2 leaf;
        try
        {
            leaf = _ca.SignWorkload(request.CertificateSigningRequest.Span, proven, _options.CertificateLifetime);
        }
        catch (CertificateRequestException e)
        {
            LogRefused(_logger, request.Identity, e.Message);
            throw new RpcException(new Status(e.WrongIdentity ? StatusCode.PermissionDenied : StatusCode.InvalidArgument, e.Message));
        }

        using (leaf)
        {
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
            _ledger.Record(proven, notAfter);
            LogIssued(_logger, proven, notAfter);
            var response = new CertifyResponse
            {
                LeafCertificate = ByteString.CopyFrom(leaf.RawData),
                ValidUntil = Timestamp.FromDateTimeOffset(notAfter),
            };
            response.IntermediateCertificates.Add(ByteString.CopyFrom(_ca.Issuer.RawData));
            return response;
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Issued a certificate for {Identity}, valid until {NotAfter:u}")]
    private static partial void LogIssued(ILogger logger, string identity, DateTimeOffset notAfter);

    [LoggerMessage(2, LogLevel.Warning, "Refused a certificate for '{Identity}': {Reason}")]
    private static partial void LogRefused(ILogger logger, string identity, string reason);
}
