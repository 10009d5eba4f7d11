using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// One way of putting proxies between the client and the origin. A setup starts fresh processes for
/// one protocol at a time (so every proxy needs only one listener and one destination) and throws
/// <see cref="SetupFailedException"/> with a reason when it cannot.
/// </summary>
internal abstract class Setup
{
    /// <summary>The key in latest.json.</summary>
    public abstract string Name { get; }

    /// <summary>How the report names it; may carry a caveat.</summary>
    public virtual string Label => Name;

    public abstract Task<RunningSetup> StartAsync(BenchProtocol protocol, SetupContext context, CancellationToken cancellationToken);

    /// <summary>Starts one proxy process on the proxy core and waits until it accepts on <paramref name="listenPort"/>.</summary>
    protected static async Task<ManagedProcess> StartProxyAsync(SetupContext context, string name, string file, IReadOnlyList<string> args, int listenPort, List<ManagedProcess> started, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (f, a) = context.Cpu.Wrap(file, args, proxy: true);
        var process = ManagedProcess.Start(name, f, a, environment);
        started.Add(process);
        await Ports.WaitListeningAsync(listenPort, process, TimeSpan.FromSeconds(10), cancellationToken);
        return process;
    }

    /// <summary>Stops what was started when a later step of a start fails, then rethrows.</summary>
    protected static RunningSetup Running(System.Net.IPEndPoint entry, List<ManagedProcess> started) => new(entry, started);

    protected static void StopAll(List<ManagedProcess> started)
    {
        foreach (var p in started)
        {
            p.Dispose();
        }
    }
}
