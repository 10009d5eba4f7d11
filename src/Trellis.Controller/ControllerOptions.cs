using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Trellis.Controller.Registry;
using Trellis.Controller.State;

namespace Trellis.Controller;

/// <summary>The controller's settings, from command-line flags (<c>--dir</c>, <c>--listen</c>, ...).</summary>
public sealed class ControllerOptions
{
    /// <summary>Default gRPC port (Linkerd's destination port).</summary>
    public const int DefaultPort = 8086;

    /// <summary>State directory.</summary>
    public required StateDirectory State { get; init; }

    /// <summary>Addresses to listen on.</summary>
    public required IReadOnlyList<IPAddress> Listen { get; init; }

    /// <summary>gRPC port.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>SPIFFE trust domain.</summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>DNS suffix of service names.</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Pod address range.</summary>
    public required AddressRange PodRange { get; init; }

    /// <summary>Service virtual IP range.</summary>
    public required AddressRange ServiceRange { get; init; }

    /// <summary>Lease of a registered pod.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Default lifetime of workload certificates.</summary>
    public TimeSpan CertificateLifetime { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Default lifetime of workload tokens.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Reads the options from configuration built from the command line.</summary>
    /// <exception cref="ArgumentException">A value is malformed; the message names the flag.</exception>
    public static ControllerOptions From(IConfiguration configuration)
    {
        var listen = new List<IPAddress>();
        foreach (var value in (configuration["listen"] ?? "127.0.0.1").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPAddress.TryParse(value, out var address))
            {
                throw new ArgumentException($"--listen '{value}' is not an IP address");
            }

            listen.Add(address);
        }

        var podRange = AddressRange.Parse(configuration["pod-cidr"] ?? "10.42.0.0/16", "--pod-cidr");
        var serviceRange = AddressRange.Parse(configuration["service-cidr"] ?? "10.43.0.0/16", "--service-cidr");
        if (podRange.Overlaps(serviceRange.Network))
        {
            throw new ArgumentException($"--pod-cidr {podRange} overlaps --service-cidr {serviceRange}");
        }

        var trustDomain = configuration["trust-domain"] ?? "cluster.local";
        return new ControllerOptions
        {
            State = new StateDirectory(configuration["dir"] ?? StateDirectory.DefaultPath),
            Listen = listen,
            Port = ParseInt(configuration["port"], DefaultPort, 1, 65535, "--port"),
            TrustDomain = trustDomain,
            ClusterDomain = trustDomain,
            PodRange = podRange,
            ServiceRange = serviceRange,
            LeaseDuration = TimeSpan.FromSeconds(ParseInt(configuration["lease-seconds"], 15, 2, 3600, "--lease-seconds")),
            CertificateLifetime = TimeSpan.FromMinutes(ParseInt(configuration["certificate-minutes"], 24 * 60, 5, 366 * 24 * 60, "--certificate-minutes")),
        };
    }

    private static int ParseInt(string? value, int fallback, int min, int max, string flag)
    {
        if (value is null)
        {
            return fallback;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
        {
            throw new ArgumentException($"{flag} '{value}' must be a whole number between {min} and {max}");
        }

        return parsed;
    }
}
