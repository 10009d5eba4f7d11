using System.Diagnostics;
using System.Net;
using Trellis.Bench.Load;
using Trellis.Bench.Setups;

namespace Trellis.Bench.Orchestration;

/// <summary>
/// Runs the benchmark: one origin for the whole run, then rounds in which every setup is started,
/// measured and stopped in turn (A B C, A B C, ...) so machine noise falls on all setups alike. Per
/// start: idle memory, probe, warm-up, the fixed-rate phases (low to high), then saturation, while the
/// proxies' memory is sampled. A setup that cannot start or forward is recorded as failed with its reason.
/// Then, when the run has a quiet period, the quiet pass (<see cref="MeasureQuietAsync"/>).
/// </summary>
internal sealed class BenchRunner(BenchOptions options, TextWriter log)
{
    public string CpuDescription { get; private set; } = "";

    public IReadOnlyDictionary<string, string> Labels => _labels;

    /// <summary>The quiet pass's figures, one per proxied setup; empty when the run has no quiet period.</summary>
    public List<QuietResult> Quiet { get; } = [];

    private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);

    public async Task<List<RoundResult>> RunAsync(string runDirectory, CancellationToken cancellationToken)
    {
        var cpu = CpuPlan.Create(options.Pin);
        cpu.PinSelf();
        CpuDescription = cpu.Describe();
        log.WriteLine($"pinning: {CpuDescription}");
        var identities = Certificates.Create(Path.Combine(runDirectory, "certs"), SetupContext.ClientIdentity, SetupContext.ServerIdentity);
        var originHttp1 = Ports.Free();
        var originGrpc = Ports.Free();
        using var origin = StartOrigin(cpu, originHttp1, originGrpc, options.TimeBound());
        await Ports.WaitListeningAsync(originHttp1, origin, TimeSpan.FromSeconds(30), cancellationToken);
        await Ports.WaitListeningAsync(originGrpc, origin, TimeSpan.FromSeconds(10), cancellationToken);
        var context = new SetupContext
        {
            RunDirectory = runDirectory,
            Hops = options.Hops,
            Cpu = cpu,
            OriginHttp1 = Ports.Loopback(originHttp1),
            OriginGrpc = Ports.Loopback(originGrpc),
            Identities = identities,
            YarpForwarderPath = options.YarpForwarderPath,
            TrellisProxyPath = options.TrellisProxyPath,
        };
        var setups = new List<Setup>();
        foreach (var name in options.Setups)
        {
            var setup = SetupCatalog.Create(name);
            if (setup is TrellisSetup trellis)
            {
                await trellis.InspectAsync(context, cancellationToken);
            }
            setups.Add(setup);
        }

        // The origin is JIT-compiled: warm it once before anything is measured.
        await WarmAsync(context.OriginHttp1, BenchProtocol.Http1, TimeSpan.FromSeconds(Math.Max(1, options.WarmupDuration.TotalSeconds)), cancellationToken);
        if (options.Grpc)
        {
            await WarmAsync(context.OriginGrpc, BenchProtocol.Grpc, TimeSpan.FromSeconds(Math.Max(1, options.WarmupDuration.TotalSeconds)), cancellationToken);
        }

        var results = new List<RoundResult>();
        var protocols = options.Grpc ? new[] { BenchProtocol.Http1, BenchProtocol.Grpc } : [BenchProtocol.Http1];
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var setup in setups)
            {
                _labels[setup.Name] = setup.Label;
                foreach (var protocol in protocols)
                {
                    var result = new RoundResult { Setup = setup.Name, Protocol = protocol, Round = round };
                    results.Add(result);
                    var watch = Stopwatch.StartNew();
                    try
                    {
                        await MeasureAsync(setup, protocol, context, result, cancellationToken);
                    }
                    catch (Exception e) when (IsSetupFailure(e, cancellationToken))
                    {
                        result.Error = FailureReason(e);
                    }
                    log.WriteLine(Describe(result, watch.Elapsed));
                }
            }
        }
        if (options.QuietDuration > TimeSpan.Zero)
        {
            await MeasureQuietAsync(setups, context, cancellationToken);
        }
        return results;
    }

    /// <summary>
    /// Every proxied setup is started again and carries a burst of saturating HTTP/1.1; then all of
    /// them are left without traffic together for the quiet period, and each proxy's memory is read
    /// once at its end. Together, because the period is minutes long: one wait for all setups. The
    /// bursts of later setups fall in earlier ones' quiet periods, which is harmless: nothing is
    /// timed here, and a quiet proxy's memory does not depend on its neighbours' traffic.
    /// </summary>
    private async Task MeasureQuietAsync(List<Setup> setups, SetupContext context, CancellationToken cancellationToken)
    {
        var parked = new List<(Setup Setup, RunningSetup Running)>();
        try
        {
            foreach (var setup in setups)
            {
                RunningSetup? running = null;
                try
                {
                    running = await setup.StartAsync(BenchProtocol.Http1, context, cancellationToken);
                    if (running.Proxies.Count == 0)
                    {
                        running.Dispose();
                        continue;
                    }
                    parked.Add((setup, running));
                    await ProbeAsync(running, BenchProtocol.Http1, cancellationToken);
                    _ = await Saturation.Http1Async(running.Entry, options.SaturationConnections, BenchOptions.QuietTrafficDuration, context.Cpu, cancellationToken);
                    AssertAlive(running);
                }
                catch (Exception e) when (IsSetupFailure(e, cancellationToken))
                {
                    if (running is not null && parked.Remove((setup, running)))
                    {
                        running.Dispose();
                    }
                    Quiet.Add(new QuietResult(setup.Name, [], FailureReason(e)));
                    log.WriteLine(DescribeQuiet(Quiet[^1]));
                }
            }
            if (parked.Count == 0)
            {
                return;
            }
            log.WriteLine($"quiet: {string.Join(", ", parked.Select(p => p.Setup.Name))} without traffic for {options.QuietDuration.TotalSeconds:0} s");
            await Task.Delay(options.QuietDuration, cancellationToken);
            foreach (var (setup, running) in parked)
            {
                Quiet.Add(ReadQuiet(setup.Name, running));
                log.WriteLine(DescribeQuiet(Quiet[^1]));
            }
        }
        finally
        {
            foreach (var (_, running) in parked)
            {
                running.Dispose();
            }
        }
    }

    /// <summary>
    /// A setup that could not start, forward or be measured: recorded with its reason while the
    /// rest of the run goes on. A network error while the run is being cancelled is the cancellation's.
    /// </summary>
    private static bool IsSetupFailure(Exception e, CancellationToken cancellationToken) =>
        e is SetupFailedException
        || e is IOException or System.Net.Sockets.SocketException or HttpRequestException or Grpc.Core.RpcException && !cancellationToken.IsCancellationRequested;

    private static string FailureReason(Exception e) => e is SetupFailedException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    private static QuietResult ReadQuiet(string setup, RunningSetup running)
    {
        var exited = running.Proxies.FirstOrDefault(p => p.HasExited);
        if (exited is not null)
        {
            return new QuietResult(setup, [], "proxy died while quiet: " + exited.ExitDescription());
        }
        return new QuietResult(setup, running.Proxies.Select(p =>
        {
            var status = ProcSampler.ReadStatus(p.Pid);
            return new ProxyQuietMemory(p.Name, status.RssKb, status.AnonKb);
        }).ToList());
    }

    private static string DescribeQuiet(QuietResult q) => q.Ok
        ? $"quiet {q.Setup,-8} " + string.Join(", ", q.Proxies.Select(p => $"{p.Name} {p.RssKb / 1024.0:0.0} MB ({p.AnonKb / 1024.0:0.0} anonymous)"))
        : $"quiet {q.Setup,-8} FAILED {q.Error}";

    private async Task MeasureAsync(Setup setup, BenchProtocol protocol, SetupContext context, RoundResult result, CancellationToken cancellationToken)
    {
        using var running = await setup.StartAsync(protocol, context, cancellationToken);
        await using var sampler = new ProcSampler(running.Proxies);
        var idle = await IdleMemoryAsync(running, sampler, cancellationToken);
        await ProbeAsync(running, protocol, cancellationToken);
        await WarmAsync(running.Entry, protocol, options.WarmupDuration, cancellationToken);
        foreach (var rate in options.Rates)
        {
            var cpuBefore = sampler.CpuSeconds();
            var phase = protocol == BenchProtocol.Http1
                ? await Http1OpenLoop.RunAsync(running.Entry, rate, options.OpenLoopConnections, options.PhaseDuration, cancellationToken)
                : await GrpcOpenLoop.RunAsync(running.Entry, rate, options.PhaseDuration, cancellationToken);
            var cpuUsed = sampler.CpuSeconds() - cpuBefore;
            result.Phases[rate] = phase;
            if (rate == 1000 && running.Proxies.Count > 0 && phase.Requests > 0)
            {
                result.CpuSecondsPer10k = cpuUsed / phase.Requests * 10_000;
            }
            AssertAlive(running);
        }
        if (options.SaturationWarmupDuration > TimeSpan.Zero)
        {
            _ = await SaturateAsync(options.SaturationWarmupDuration, $"h2load-{setup.Name}-{result.Round}-warmup.log");
        }

        result.Saturation = await SaturateAsync(options.SaturationDuration, $"h2load-{setup.Name}-{result.Round}.log");
        AssertAlive(running);
        var peaks = sampler.Peaks();
        for (var i = 0; i < peaks.Count; i++)
        {
            result.Proxies.Add(new ProxyMemory(peaks[i].Name, peaks[i].PeakRssKb, peaks[i].PeakAnonKb, idle[i].RssKb, idle[i].AnonKb));
        }

        Task<SaturationResult> SaturateAsync(TimeSpan duration, string h2loadLog) => protocol == BenchProtocol.Http1
            ? Saturation.Http1Async(running.Entry, options.SaturationConnections, duration, context.Cpu, cancellationToken)
            : Saturation.GrpcAsync(running.Entry, options.SaturationConnections, duration, context.RunDirectory,
                Path.Combine(context.RunDirectory, h2loadLog), context.Cpu, cancellationToken);
    }

    /// <summary>
    /// Memory of every proxy once it is ready and before any traffic (the probe is traffic). The
    /// second's wait lets start-up work settle, so the figure is the steady idle state.
    /// </summary>
    private static async Task<IReadOnlyList<(string Name, long RssKb, long AnonKb)>> IdleMemoryAsync(RunningSetup running, ProcSampler sampler, CancellationToken cancellationToken)
    {
        if (running.Proxies.Count == 0)
        {
            return [];
        }
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        AssertAlive(running);
        return sampler.Current();
    }

    private static void AssertAlive(RunningSetup running)
    {
        foreach (var p in running.Proxies)
        {
            if (p.HasExited)
            {
                throw new SetupFailedException("proxy died during the run: " + p.ExitDescription());
            }
        }
    }

    /// <summary>Checks that the setup forwards correctly, retrying briefly while it settles.</summary>
    private static async Task ProbeAsync(RunningSetup running, BenchProtocol protocol, CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                if (protocol == BenchProtocol.Http1)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(3));
                    using var connection = await Http1Connection.ConnectAsync(running.Entry, timeout.Token);
                    connection.RoundTrip(TimeSpan.FromSeconds(3));
                }
                else
                {
                    await GrpcOpenLoop.ProbeAsync(running.Entry, cancellationToken);
                }
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or Grpc.Core.RpcException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
                AssertAlive(running);
                await Task.Delay(300, cancellationToken);
            }
        }
        var tails = string.Join("; ", running.Proxies.Select(p => $"{p.Name}: {p.Tail()}"));
        throw new SetupFailedException($"probe through the setup failed ({protocol}): {last?.Message} {tails}".Trim());
    }

    private async Task WarmAsync(IPEndPoint entry, BenchProtocol protocol, TimeSpan duration, CancellationToken cancellationToken)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }
        var rate = options.Rates.Contains(1000) ? 1000 : options.Rates[^1];
        _ = protocol == BenchProtocol.Http1
            ? await Http1OpenLoop.RunAsync(entry, rate, options.OpenLoopConnections, duration, cancellationToken)
            : await GrpcOpenLoop.RunAsync(entry, rate, duration, cancellationToken);
    }

    private static ManagedProcess StartOrigin(CpuPlan cpu, int http1Port, int grpcPort, TimeSpan bound)
    {
        var dll = typeof(BenchRunner).Assembly.Location;
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var (file, args) = cpu.Wrap(host, [dll, "serve", "--http1-port", http1Port.ToString(), "--grpc-port", grpcPort.ToString(), "--max-seconds", ((int)bound.TotalSeconds).ToString()], proxy: false);
        return ManagedProcess.Start("origin", file, args, new Dictionary<string, string> { ["DOTNET_gcServer"] = "0" });
    }

    private static string Describe(RoundResult r, TimeSpan elapsed)
    {
        var head = $"round {r.Round} {r.Setup,-8} {r.Protocol,-5} ({elapsed.TotalSeconds:0.0} s): ";
        if (!r.Ok)
        {
            return head + "FAILED " + r.Error;
        }
        var parts = new List<string>();
        foreach (var (rate, phase) in r.Phases)
        {
            parts.Add($"@{rate} p99 {phase.At(99):0.000} ms (max {phase.At(100):0.0} at +{phase.WorstAtSeconds:0.00} s){(phase.Errors > 0 ? $" ({phase.Errors} errors)" : "")}");
        }
        if (r.Saturation is { } s)
        {
            parts.Add($"max {s.RequestsPerSecond:0} req/s{(s.Latency is { } l ? $" (p99 {l.P99Ms:0.000} ms)" : "")}");
        }
        if (r.Proxies.Count > 0)
        {
            parts.Add($"rss {r.Proxies.Max(p => p.PeakRssKb) / 1024.0:0.0} MB (idle {r.Proxies.Max(p => p.IdleRssKb) / 1024.0:0.0} MB)");
        }
        return head + string.Join(", ", parts);
    }
}
