namespace Trellis.Proxy.ControlPlane;

/// <summary>
/// Where the controller is and how to trust it: the proxy flags <c>--controller</c>,
/// <c>--controller-name</c> and <c>--trust-anchor</c>.
/// </summary>
public sealed class ControlPlaneOptions
{
    /// <summary>HOST:PORT to dial (a name, an IPv4 address, or [IPv6]:PORT).</summary>
    public required string Controller { get; init; }

    /// <summary>
    /// The name the controller's certificate must carry: a DNS name (also sent as SNI and
    /// authority) or a SPIFFE ID (matched against the certificate's URI SAN). Null means the
    /// host part of <see cref="Controller"/>.
    /// </summary>
    public string? ControllerName { get; init; }

    /// <summary>PEM file with the mesh's trust anchor(s), the only roots the controller is checked against.</summary>
    public required string TrustAnchorPath { get; init; }

    /// <summary>How long a TCP connect to the controller may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle streams are pinged this often, so a controller that vanished without a reset is noticed.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reconnect delays after a lost stream or a failed call.</summary>
    public ExponentialBackoff Backoff { get; init; } = ExponentialBackoff.Default;

    /// <summary>Splits <see cref="Controller"/> into host and port, with a clear error when it is malformed.</summary>
    public (string Host, int Port) ParseController()
    {
        var value = Controller;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
            throw new FormatException($"--controller must be HOST:PORT, got '{value}'.");
        if (!int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535)
            throw new FormatException($"--controller port must be 1-65535, got '{value}'.");

        var host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        else if (host.Contains(':', StringComparison.Ordinal))
            throw new FormatException($"--controller IPv6 addresses go in brackets ([::1]:8086), got '{value}'.");
        if (host.Length == 0)
            throw new FormatException($"--controller must be HOST:PORT, got '{value}'.");
        return (host, port);
    }

    /// <summary>The name the controller must prove, defaulting to the dialled host.</summary>
    public string ExpectedName() => string.IsNullOrEmpty(ControllerName) ? ParseController().Host : ControllerName;
}
