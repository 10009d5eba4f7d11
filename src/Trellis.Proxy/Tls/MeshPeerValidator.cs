using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Verifies one handshake's peer: its certificate must chain to the trust anchors (SslStream
/// builds the chain with the <see cref="MeshIdentity.CreateChainPolicy"/> policy, which trusts
/// only those anchors) and carry exactly one URI SAN that is a valid SPIFFE ID, equal to the
/// expected identity when one is given. One instance per handshake; it keeps the reason of a
/// refusal, which SslStream's own exception does not say.
/// </summary>
internal sealed class MeshPeerValidator
{
    private readonly string? _expectedIdentity;

    /// <param name="expectedIdentity">The SPIFFE ID the peer must have, or null to accept any valid one.</param>
    public MeshPeerValidator(string? expectedIdentity)
    {
        _expectedIdentity = expectedIdentity;
        Callback = Validate;
    }

    public RemoteCertificateValidationCallback Callback { get; }

    /// <summary>The peer's verified SPIFFE ID, once validation has passed.</summary>
    public string? PeerId { get; private set; }

    /// <summary>Why the peer was refused, or null.</summary>
    public string? Failure { get; private set; }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            Failure = "peer presented no certificate";
            return false;
        }

        // Mesh peers are named by their SPIFFE URI SAN, checked below, never by a host name.
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            Failure = chain is null ? "peer certificate chain not trusted" : $"peer certificate not trusted: {ChainErrors.Describe(chain)}";
            return false;
        }

        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        if (!SpiffeId.TryFromCertificate(leaf, out var id, out var error))
        {
            Failure = $"peer identity invalid: {error}";
            return false;
        }

        if (_expectedIdentity is not null && !string.Equals(id.Value, _expectedIdentity, StringComparison.Ordinal))
        {
            Failure = $"peer identity is {id.Value}, expected {_expectedIdentity}";
            return false;
        }

        PeerId = id.Value;
        return true;
    }
}
