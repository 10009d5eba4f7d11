using System.Net;
using System.Text.Json;
using Trellis.Cli.Commands;
using Trellis.Controller.Registry;

namespace Trellis.Cli.Hosts;

/// <summary>
/// The host side of hosts mode: the bridge <c>trellis0</c> holding the pods' gateway address,
/// and the check that the pod and service ranges collide with no route the host already has.
/// </summary>
internal static class HostNetwork
{
    public const string Bridge = "trellis0";

    /// <summary>Host routes (every table) that overlap <paramref name="range"/>, ignoring our own bridge.</summary>
    public static async Task<List<string>> OverlappingRoutesAsync(AddressRange range)
    {
        var json = await Shell.RunAsync("ip", "-j", "-4", "route", "show", "table", "all");
        return Overlapping(json, range);
    }

    /// <summary>Parses `ip -j route` output and returns the routes overlapping <paramref name="range"/>.</summary>
    internal static List<string> Overlapping(string ipRouteJson, AddressRange range)
    {
        var overlaps = new List<string>();
        using var document = JsonDocument.Parse(ipRouteJson);
        foreach (var route in document.RootElement.EnumerateArray())
        {
            var dst = route.TryGetProperty("dst", out var d) ? d.GetString() : null;
            var dev = route.TryGetProperty("dev", out var v) ? v.GetString() : null;
            if (dst is null or "default" || dev == Bridge)
            {
                continue;
            }

            var cidr = dst.Contains('/', StringComparison.Ordinal) ? dst : dst + "/32";
            if (IPNetwork.TryParse(cidr, out var network) && range.Overlaps(network))
            {
                overlaps.Add($"{dst} dev {dev}");
            }
        }

        return overlaps;
    }

    /// <summary>Creates the bridge with the gateway address (idempotent).</summary>
    public static async Task EnsureBridgeAsync(AddressRange podRange)
    {
        var (exists, _, _) = await Shell.TryRunAsync("ip", "link", "show", Bridge);
        if (exists != 0)
        {
            await Shell.RunAsync("ip", "link", "add", Bridge, "type", "bridge");
        }

        await Shell.RunAsync("ip", "addr", "replace", $"{podRange.At(1)}/{podRange.PrefixLength}", "dev", Bridge);
        await Shell.RunAsync("ip", "link", "set", Bridge, "up");
    }

    /// <summary>Deletes the bridge; false when there was none.</summary>
    public static async Task<bool> DeleteBridgeAsync()
    {
        var (code, _, _) = await Shell.TryRunAsync("ip", "link", "del", Bridge);
        return code == 0;
    }

    /// <summary>Refuses ranges that overlap each other or a host route, with a clear message.</summary>
    public static async Task RequireFreeRangesAsync(AddressRange pods, AddressRange services)
    {
        if (pods.Overlaps(services.Network))
        {
            throw new CliException($"the pod range {pods} overlaps the service range {services}; choose other --pod-cidr/--service-cidr", 2);
        }

        foreach (var (range, flag) in new[] { (pods, "--pod-cidr"), (services, "--service-cidr") })
        {
            var overlaps = await OverlappingRoutesAsync(range);
            if (overlaps.Count > 0)
            {
                throw new CliException(
                    $"the range {range} overlaps host routes ({string.Join("; ", overlaps)}); choose another with {flag}", 2);
            }
        }
    }
}
