namespace Trellis.Bench.Orchestration;

/// <summary>How much to measure and where: built from the command line (presets --quick and --smoke).</summary>
internal sealed class BenchOptions
{
    public static readonly string[] AllSetups = ["direct", "trellis", "haproxy", "nginx", "yarp"];

    public required IReadOnlyList<string> Setups { get; init; }

    public int Hops { get; init; } = 2;

    public int Rounds { get; init; } = 3;

    public IReadOnlyList<int> Rates { get; init; } = [100, 1000, 4000];

    public TimeSpan PhaseDuration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan SaturationDuration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan WarmupDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// An untimed run of the saturation tool before the measured one: wrk and h2load open their
    /// own connections, and a proxy opens (and in the mesh, handshakes) an upstream connection on
    /// each new one's first requests, so without it the measured p99 includes that cold start.
    /// Zero skips it.
    /// </summary>
    public TimeSpan SaturationWarmupDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Keep-alive connections of the open-loop HTTP/1.1 generator.</summary>
    public int OpenLoopConnections { get; init; } = 8;

    /// <summary>Connections of the closed-loop saturation run (wrk -c; h2load uses a quarter, 16 streams each).</summary>
    public int SaturationConnections { get; init; } = 20;

    /// <summary>
    /// How long every proxied setup is left without traffic, after a burst of it, before its
    /// "quiet" memory is read (<see cref="QuietResult"/>). Zero skips that pass.
    /// </summary>
    public TimeSpan QuietDuration { get; init; } = TimeSpan.Zero;

    /// <summary>The saturating HTTP/1.1 burst each setup carries before its quiet period.</summary>
    public static readonly TimeSpan QuietTrafficDuration = TimeSpan.FromSeconds(5);

    public bool Grpc { get; init; } = true;

    public bool Pin { get; init; } = true;

    /// <summary>Where latest.json, report.md and latency.png go.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Where per-run raw data goes (a timestamped directory per run).</summary>
    public required string RunsDirectory { get; init; }

    public required string YarpForwarderPath { get; init; }

    public required string TrellisProxyPath { get; init; }

    public required string Mode { get; init; }

    /// <summary>An upper bound on the whole run, so nothing can run away.</summary>
    public TimeSpan TimeBound()
    {
        var perStart = WarmupDuration + (PhaseDuration * Rates.Count) + SaturationWarmupDuration + SaturationDuration + TimeSpan.FromSeconds(25);
        var quiet = QuietDuration > TimeSpan.Zero ? QuietDuration + ((QuietTrafficDuration + TimeSpan.FromSeconds(25)) * Setups.Count) : TimeSpan.Zero;
        return (perStart * (Grpc ? 2 : 1) * Setups.Count * Rounds * 2) + quiet + TimeSpan.FromMinutes(3);
    }
}
