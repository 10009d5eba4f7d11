using System.Diagnostics;
using Trellis.Cli.Commands;

namespace Trellis.Cli.Hosts;

/// <summary>Where the pod's proxy finds the control plane and proves its identity.</summary>
internal sealed record ProxyLaunch(string Netns, string ControllerAddress, string Identity, string TokenFile, string TrustAnchorFile, IReadOnlyList<int> OpaquePorts);

/// <summary>Finds and starts the proxy inside a pod: the one place that knows the proxy's flags.</summary>
internal static class ProxyLauncher
{
    /// <summary>$TRELLIS_PROXY, else trellis-proxy next to this CLI.</summary>
    public static string FindProxy()
    {
        var configured = Environment.GetEnvironmentVariable("TRELLIS_PROXY");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var local = Path.Combine(AppContext.BaseDirectory, "trellis-proxy");
        return File.Exists(local) ? local : throw new CliException($"cannot find trellis-proxy next to {AppContext.BaseDirectory}; set TRELLIS_PROXY to the published proxy binary", 2);
    }

    /// <summary>
    /// Starts the proxy as uid 2102 (its traffic is exempt from interception) in the pod's
    /// namespace. Control-plane flags are passed only to a proxy that lists them in --help, so a
    /// proxy without a control-plane client still forwards to original destinations.
    /// </summary>
    public static async Task<Process> StartAsync(ProxyLaunch launch)
    {
        var proxy = FindProxy();
        var args = new List<string>
        {
            "netns", "exec", launch.Netns,
            "setpriv", "--reuid", PodNetwork.ProxyUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--regid", PodNetwork.ProxyUid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--clear-groups", "--",
            proxy,
        };
        if (launch.OpaquePorts.Count > 0)
        {
            args.AddRange(["--opaque-ports", string.Join(',', launch.OpaquePorts)]);
        }

        var (_, help, _) = await Shell.TryRunAsync(proxy, "--help");
        if (help.Contains("--controller", StringComparison.Ordinal))
        {
            args.AddRange(["--controller", launch.ControllerAddress, "--identity", launch.Identity,
                "--identity-token-file", launch.TokenFile, "--trust-anchor", launch.TrustAnchorFile]);
        }
        else
        {
            await Console.Error.WriteLineAsync("trellis: this trellis-proxy has no control-plane flags: it runs without discovery and identity");
        }

        var start = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new CliException("cannot start the proxy");
    }
}
