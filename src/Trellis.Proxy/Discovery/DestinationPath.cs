using System.Globalization;
using System.Net;

namespace Trellis.Proxy.Discovery;

/// <summary>
/// Turns what a client sent into the path the destination service is asked about:
/// a service name as <c>name.ns.svc.cluster.local:port</c>, or an address as <c>ip:port</c>.
/// One spelling per service, so <c>web.demo</c>, <c>web.demo:80</c> and
/// <c>Web.Demo.svc.cluster.local.</c> share one stream.
/// </summary>
public static class DestinationPath
{
    private const string ClusterSuffix = ".svc.cluster.local";
    private const int DefaultHttpPort = 80;

    /// <summary>The path for an IP endpoint (TCP, or an authority that is an address).</summary>
    public static string ForAddress(IPEndPoint endpoint) => endpoint.ToString();

    /// <summary>
    /// Normalises an HTTP authority. Returns false for an authority that names no in-cluster
    /// service (one label, a malformed port, characters a host name cannot hold); the caller
    /// then resolves by the connection's original destination.
    /// </summary>
    public static bool TryNormalizeAuthority(string authority, out string path)
    {
        path = "";
        var host = authority.AsSpan();
        var port = DefaultHttpPort;

        if (host.StartsWith("["))
        {
            var close = host.IndexOf(']');
            if (close < 0 || !IPAddress.TryParse(host[1..close], out var v6))
                return false;
            var rest = host[(close + 1)..];
            if (!rest.IsEmpty && (rest[0] != ':' || !TryParsePort(rest[1..], out port)))
                return false;
            path = ForAddress(new IPEndPoint(v6, port));
            return true;
        }

        var colon = host.LastIndexOf(':');
        if (colon >= 0)
        {
            if (!TryParsePort(host[(colon + 1)..], out port))
                return false;
            host = host[..colon];
        }
        if (host.EndsWith("."))
            host = host[..^1];
        if (host.IsEmpty)
            return false;

        if (IPAddress.TryParse(host, out var address))
        {
            path = ForAddress(new IPEndPoint(address, port));
            return true;
        }

        if (!IsHostName(host))
            return false;

        var name = host.ToString().ToLowerInvariant();
        if (name.EndsWith(ClusterSuffix, StringComparison.Ordinal))
            name = name[..^ClusterSuffix.Length];
        else if (name.EndsWith(".svc", StringComparison.Ordinal))
            name = name[..^4];

        // name.namespace is all that identifies a service; one label or more than two is not a service name.
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == name.Length - 1 || name.IndexOf('.', dot + 1) >= 0)
            return false;

        path = string.Create(CultureInfo.InvariantCulture, $"{name}{ClusterSuffix}:{port}");
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<char> text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    private static bool IsHostName(ReadOnlySpan<char> host)
    {
        if (host.Length > 253)
            return false;
        foreach (var c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
                return false;
        }
        return true;
    }
}
