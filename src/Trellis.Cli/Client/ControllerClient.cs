using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Trellis.Api.Destination.V1;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Commands;
using Trellis.Controller.Identity;
using Trellis.Controller.State;
using Trellis.Controller.Tokens;

namespace Trellis.Cli.Client;

/// <summary>
/// A gRPC connection to the controller over TLS, trusting only the trust anchor in the state
/// directory (never the system store) and checking the address is in the controller's certificate.
/// </summary>
internal sealed class ControllerClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Metadata _admin;

    private ControllerClient(GrpcChannel channel, Metadata admin, string address)
    {
        _channel = channel;
        _admin = admin;
        Address = address;
        Registry = new Registry.RegistryClient(channel);
        Destination = new Destination.DestinationClient(channel);
    }

    public string Address { get; }

    public Registry.RegistryClient Registry { get; }

    public Destination.DestinationClient Destination { get; }

    /// <summary>Call options carrying the admin credential (empty when it was not requested).</summary>
    public CallOptions Admin(CancellationToken cancellationToken = default) => new(_admin, cancellationToken: cancellationToken);

    /// <summary>Connects lazily to <paramref name="address"/> (default: loopback and the saved port).</summary>
    public static ControllerClient Create(StateDirectory state, string? address, bool admin)
    {
        address ??= $"127.0.0.1:{ControllerSettings.Load(state).Port}";
        X509Certificate2 anchor;
        try
        {
            anchor = X509CertificateLoader.LoadCertificateFromFile(state.TrustAnchorCertificate);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new CliException($"cannot read the trust anchor {state.TrustAnchorCertificate}: {e.Message} (run `trellis install --hosts` or `trellis up`, or pass --dir)");
        }

        var metadata = new Metadata();
        if (admin)
        {
            try
            {
                metadata.Add(AdminCredential.MetadataKey, "Bearer " + AdminCredential.Load(state).Secret);
            }
            catch (InvalidOperationException e)
            {
                throw new CliException(e.Message, exitCode: 2);
            }
        }

        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(3),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(anchor, certificate, chain, errors),
            },
        };
        var channel = GrpcChannel.ForAddress("https://" + address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return new ControllerClient(channel, metadata, address);
    }

    /// <summary>Accepts the controller's certificate only if it chains to <paramref name="anchor"/> and names the dialled address.</summary>
    internal static bool Validate(X509Certificate2 anchor, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        var extras = new List<X509Certificate2>();
        if (chain is not null)
        {
            extras.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements)
            {
                extras.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return ChainVerifier.Verify(leaf, extras, anchor, TimeProvider.System.GetUtcNow()).IsValid;
    }

    /// <summary>Turns a gRPC failure into a one-line message with a hint.</summary>
    public CliException Explain(RpcException e) => e.StatusCode switch
    {
        StatusCode.Unavailable => new CliException($"the controller at {Address} is not reachable ({e.Status.Detail}); start it with `trellis up`"),
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => new CliException($"the controller refused the call: {e.Status.Detail}", 2),
        _ => new CliException($"the controller answered {e.StatusCode}: {e.Status.Detail}"),
    };

    public void Dispose() => _channel.Dispose();
}
