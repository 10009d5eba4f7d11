using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Trellis.Controller.Registry;

namespace Trellis.Controller.Destination;

/// <summary>
/// A parsed destination: a service name (<c>web.demo.svc.cluster.local:8080</c>,
/// <c>web.demo.svc:8080</c>, <c>web.demo:8080</c>) or an address (<c>10.43.0.12:8080</c>).
/// A missing port means 80, as in an HTTP authority.
/// </summary>
public sealed record DestinationPath(string? Namespace, string? Service, IPAddress? Address, int Port)
{
    /// <summary>True for the name form.</summary>
    public bool IsName => Service is not null;

    /// <summary>Parses <paramref name="path"/>; false with <paramref name="error"/> for anything malformed.</summary>
    public static bool TryParse(string? path, string clusterDomain, out DestinationPath? result, out string error)
    {
        result = null;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(path))
        {
            error = "the destination path is empty";
            return false;
        }

        if (IPEndPoint.TryParse(path, out var endpoint) && endpoint.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            && (path.Contains(':', StringComparison.Ordinal) || endpoint.Address.AddressFamily == AddressFamily.InterNetwork))
        {
            result = new DestinationPath(null, null, endpoint.Address, endpoint.Port == 0 ? 80 : endpoint.Port);
            return true;
        }

        var host = path;
        var port = 80;
        var colon = path.LastIndexOf(':');
        if (colon >= 0)
        {
            host = path[..colon];
            if (!int.TryParse(path.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                error = $"'{path}' has an invalid port";
                return false;
            }
        }

        host = host.TrimEnd('.').ToLowerInvariant();
        var suffix = ".svc." + clusterDomain;
        if (host.EndsWith(suffix, StringComparison.Ordinal))
        {
            host = host[..^suffix.Length];
        }
        else if (host.EndsWith(".svc", StringComparison.Ordinal))
        {
            host = host[..^4];
        }

        var parts = host.Split('.');
        if (parts.Length != 2 || !Names.IsDnsLabel(parts[0]) || !Names.IsDnsLabel(parts[1]))
        {
            error = $"'{path}' is neither <service>.<namespace>[.svc.{clusterDomain}][:port] nor <ip>:<port>";
            return false;
        }

        result = new DestinationPath(parts[1], parts[0], null, port);
        return true;
    }
}
