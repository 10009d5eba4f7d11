namespace Trellis.Proxy.ControlPlane;

/// <summary>The proxy's own identity: the flags <c>--identity</c> and <c>--identity-token-file</c>.</summary>
public sealed class IdentityClientOptions
{
    /// <summary>spiffe://&lt;trust-domain&gt;/ns/&lt;namespace&gt;/sa/&lt;serviceaccount&gt;</summary>
    public required string Identity { get; init; }

    /// <summary>File holding the token that proves the identity; read on every request, as tokens rotate.</summary>
    public required string TokenPath { get; init; }

    /// <summary>Renew when this fraction of the certificate's lifetime has passed.</summary>
    public double RenewAtFraction { get; init; } = 0.7;

    /// <summary>Retry delays after a failed certification.</summary>
    public ExponentialBackoff Backoff { get; init; } = ExponentialBackoff.Default;

    internal void Validate()
    {
        if (!Uri.TryCreate(Identity, UriKind.Absolute, out var uri) || uri.Scheme != "spiffe" || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"--identity must be a SPIFFE ID (spiffe://trust-domain/ns/NS/sa/SA), got '{Identity}'.", nameof(Identity));
        ArgumentException.ThrowIfNullOrEmpty(TokenPath);
        if (RenewAtFraction is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(RenewAtFraction), RenewAtFraction, "Renewal must happen strictly within the certificate's lifetime.");
    }
}
