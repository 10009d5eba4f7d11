using System.Net;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// The topology every proxy setup shares: with one hop a single plaintext proxy; with two hops a
/// server-side proxy (TLS in, origin out) started first, then a client-side proxy (plaintext in,
/// TLS to the server side). Subclasses only say how to start one proxy in one role.
/// </summary>
internal abstract class ProxyPairSetup : Setup
{
    public override async Task<RunningSetup> StartAsync(BenchProtocol protocol, SetupContext context, CancellationToken cancellationToken)
    {
        var started = new List<ManagedProcess>();
        try
        {
            var entry = Ports.Free();
            if (context.Hops == 1)
            {
                await StartOneAsync(ProxyRole.Single, protocol, entry, context.Origin(protocol), context, started, cancellationToken);
            }
            else
            {
                var meshPort = Ports.Free();
                await StartOneAsync(ProxyRole.Server, protocol, meshPort, context.Origin(protocol), context, started, cancellationToken);
                await StartOneAsync(ProxyRole.Client, protocol, entry, Ports.Loopback(meshPort), context, started, cancellationToken);
            }
            return Running(Ports.Loopback(entry), started);
        }
        catch
        {
            StopAll(started);
            throw;
        }
    }

    /// <summary>Starts one proxy listening on 127.0.0.1:<paramref name="listenPort"/> forwarding to <paramref name="destination"/>.</summary>
    protected abstract Task StartOneAsync(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, List<ManagedProcess> started, CancellationToken cancellationToken);

    protected static string RoleName(ProxyRole role) => role switch
    {
        ProxyRole.Client => "client-side",
        ProxyRole.Server => "server-side",
        _ => "single",
    };

    /// <summary>Finds a program on PATH (or an absolute path) or fails the setup with a hint.</summary>
    protected static string RequireProgram(string name, string hint)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : throw new SetupFailedException($"{name} not found ({hint})");
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            foreach (var candidate in new[] { Path.Combine(dir, name) })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        foreach (var dir in new[] { "/usr/sbin", "/sbin" })
        {
            if (File.Exists(Path.Combine(dir, name)))
            {
                return Path.Combine(dir, name);
            }
        }
        throw new SetupFailedException($"{name} not found on PATH ({hint})");
    }
}
