using System.CommandLine;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Reporting;
using Trellis.Bench.Server;

namespace Trellis.Bench;

/// <summary>
/// Trellis.Bench: the proxy benchmark (load generator, orchestrator, reporter) and, as `serve`, the
/// origin every setup forwards to. See bench/README.md.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        // Pinned to one CPU, the runtime's thread pool starts with one worker and adds more only
        // when its starvation check notices (about every 0.5 s). Child processes' output readers
        // block pool threads on Unix (synchronous pipe reads), so queued continuations (the load
        // generator's responses, the origin's requests) sometimes waited 0.5-1 s for a thread:
        // the "stalls" every setup, direct included, showed in its p99. Enough workers from the start.
        ThreadPool.GetMinThreads(out _, out var io);
        ThreadPool.SetMinThreads(MinWorkerThreads, io);
        return BuildCommand().Parse(args).InvokeAsync();
    }

    private const int MinWorkerThreads = 16;

    /// <summary>
    /// A full run's quiet period. A trellis proxy gives memory back after 30 s without traffic and
    /// again once its pooled mesh connections have closed (60-90 s after their last use), and its
    /// timers fault a little code back over the next minutes: four minutes is past all of that.
    /// </summary>
    private const int FullRunQuietSeconds = 240;

    internal static RootCommand BuildCommand()
    {
        var quick = new Option<bool>("--quick") { Description = "Short run (under 5 minutes): 2 rounds, 2 s phases, 3 s saturation" };
        var smoke = new Option<bool>("--smoke") { Description = "Tiny run for the smoke test: direct + one available proxy, 1 round, 1 s phases" };
        var hops = new Option<int>("--hops") { Description = "2: meshed (client -> proxy -> TLS -> proxy -> origin); 1: one plaintext proxy", DefaultValueFactory = _ => 2 };
        hops.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is not (1 or 2))
            {
                r.AddError("--hops must be 1 or 2");
            }
        });
        var setups = new Option<string[]>("--setups") { Description = "Setups to run, comma separated (direct, trellis, haproxy, nginx, yarp)", AllowMultipleArgumentsPerToken = true };
        setups.Validators.Add(r =>
        {
            foreach (var name in Split(r.GetValueOrDefault<string[]>() ?? []))
            {
                if (!BenchOptions.AllSetups.Contains(name))
                {
                    r.AddError($"unknown setup '{name}' (known: {string.Join(", ", BenchOptions.AllSetups)})");
                }
            }
        });
        var rounds = new Option<int?>("--rounds") { Description = "Interleaved rounds (A B C, A B C, ...)" };
        rounds.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 or > 50)
            {
                r.AddError("--rounds must be between 1 and 50");
            }
        });
        var phaseSeconds = new Option<double?>("--phase-seconds") { Description = "Seconds per fixed-rate phase" };
        var saturationSeconds = new Option<double?>("--saturation-seconds") { Description = "Seconds of closed-loop saturation" };
        foreach (var seconds in new[] { phaseSeconds, saturationSeconds })
        {
            seconds.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<double?>() is < 0.5 or > 600)
                {
                    r.AddError($"{r.Option.Name} must be between 0.5 and 600");
                }
            });
        }
        var quietSeconds = new Option<double?>("--quiet-seconds")
        {
            Description = $"After the rounds, every proxied setup carries {BenchOptions.QuietTrafficDuration.TotalSeconds:0} s of saturating HTTP/1.1 and is then left without traffic this long before its memory is read (full run: {FullRunQuietSeconds}; --quick, --smoke: 0, skipped)",
        };
        quietSeconds.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is < 0 or > 1800)
            {
                r.AddError("--quiet-seconds must be between 0 and 1800");
            }
        });
        var noGrpc = new Option<bool>("--no-grpc") { Description = "Measure HTTP/1.1 only" };
        var noPin = new Option<bool>("--no-pin") { Description = "Do not pin proxies and load to separate cores" };
        var output = new Option<string?>("--out") { Description = "Directory for latest.json, report.md, latency.png (default bench/results)" };
        var yarp = new Option<string?>("--yarp") { Description = "YarpForwarder binary (default bench/.artifacts/yarp/YarpForwarder)" };
        var trellis = new Option<string?>("--trellis") { Description = "trellis-proxy binary (default bench/.artifacts/trellis/trellis-proxy)" };

        var root = new RootCommand("Trellis proxy benchmark: latency at fixed rates, saturation throughput, memory and CPU of direct, trellis, haproxy, nginx and yarp setups")
        {
            quick, smoke, hops, setups, rounds, phaseSeconds, saturationSeconds, quietSeconds, noGrpc, noPin, output, yarp, trellis,
        };
        root.Validators.Add(r =>
        {
            if (r.GetValue(quick) && r.GetValue(smoke))
            {
                r.AddError("--quick and --smoke are exclusive");
            }
        });
        root.SetAction(async (parse, cancellationToken) =>
        {
            var benchDir = FindBenchDirectory();
            var isSmoke = parse.GetValue(smoke);
            var isQuick = parse.GetValue(quick);
            var mode = isSmoke ? "smoke" : isQuick ? "quick" : "full";
            var selected = Split(parse.GetValue(setups) ?? []);
            var outDir = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(benchDir, "results"));
            var options = new BenchOptions
            {
                Mode = mode,
                Setups = selected.Count > 0 ? selected : isSmoke ? SmokeSetups() : BenchOptions.AllSetups,
                Hops = parse.GetValue(hops),
                Rounds = parse.GetValue(rounds) ?? (isSmoke ? 1 : isQuick ? 2 : 3),
                PhaseDuration = TimeSpan.FromSeconds(parse.GetValue(phaseSeconds) ?? (isSmoke ? 1 : isQuick ? 2 : 10)),
                SaturationDuration = TimeSpan.FromSeconds(parse.GetValue(saturationSeconds) ?? (isSmoke ? 1 : isQuick ? 3 : 10)),
                WarmupDuration = TimeSpan.FromSeconds(isSmoke ? 0.5 : isQuick ? 1 : 3),
                SaturationWarmupDuration = TimeSpan.FromSeconds(isSmoke ? 0 : 1),
                QuietDuration = TimeSpan.FromSeconds(parse.GetValue(quietSeconds) ?? (isSmoke || isQuick ? 0 : FullRunQuietSeconds)),
                Grpc = !parse.GetValue(noGrpc),
                Pin = !parse.GetValue(noPin),
                OutputDirectory = outDir,
                RunsDirectory = Path.Combine(outDir, "runs"),
                YarpForwarderPath = Path.GetFullPath(parse.GetValue(yarp) ?? Path.Combine(benchDir, ".artifacts", "yarp", "YarpForwarder")),
                TrellisProxyPath = Path.GetFullPath(parse.GetValue(trellis) ?? Path.Combine(benchDir, ".artifacts", "trellis", "trellis-proxy")),
            };
            return await RunBenchAsync(options, cancellationToken);
        });

        var http1Port = new Option<int>("--http1-port") { Required = true };
        var grpcPort = new Option<int>("--grpc-port") { Required = true };
        var maxSeconds = new Option<int>("--max-seconds") { Description = "Exit after this long, whatever happens", DefaultValueFactory = _ => 3600 };
        var serve = new Command("serve", "Run the origin: HTTP/1.1 GET / and gRPC echo (h2c) on 127.0.0.1") { http1Port, grpcPort, maxSeconds };
        serve.SetAction(async (parse, cancellationToken) =>
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(maxSeconds)));
            // The harness holds our stdin: when it goes away (even killed), stdin closes and we stop.
            // Console reads block (on Unix even ReadLineAsync), so this waits on its own thread, not
            // on a pool thread the server needs.
            var stdinWatch = new Thread(() =>
            {
                while (Console.In.ReadLine() is not null)
                {
                }
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The server already stopped on its own.
                }
            }) { IsBackground = true, Name = "stdin watch" };
            stdinWatch.Start();
            return await OriginServer.RunAsync(parse.GetValue(http1Port), parse.GetValue(grpcPort), cts.Token);
        });
        root.Subcommands.Add(serve);
        return root;
    }

    private static async Task<int> RunBenchAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetUtcNow();
        var runDirectory = Path.Combine(options.RunsDirectory, started.ToString("yyyyMMdd-HHmmss") + "-" + options.Mode);
        Directory.CreateDirectory(runDirectory);
        Console.WriteLine($"trellis bench ({options.Mode}): setups {string.Join(", ", options.Setups)}; hops {options.Hops}; {options.Rounds} round(s); rates {string.Join(", ", options.Rates)} req/s; quiet {options.QuietDuration.TotalSeconds:0} s; run data in {runDirectory}");
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(options.TimeBound());
        var runner = new BenchRunner(options, Console.Out);
        var results = await runner.RunAsync(runDirectory, bound.Token);
        RawData.Write(Path.Combine(runDirectory, "rounds.json"), results);
        if (options.QuietDuration > TimeSpan.Zero)
        {
            RawData.WriteQuiet(Path.Combine(runDirectory, "quiet.json"), runner.Quiet);
        }
        var summaries = Aggregator.Summarize(options.Setups, runner.Labels, results, options.Rates, runner.Quiet);
        var run = new RunInfo(options.Mode, started, options.Hops, options.Rounds, options.Rates, options.PhaseDuration.TotalSeconds, options.SaturationDuration.TotalSeconds, runner.CpuDescription, Machine(), options.QuietDuration.TotalSeconds);
        Directory.CreateDirectory(options.OutputDirectory);
        foreach (var dir in new[] { runDirectory, options.OutputDirectory })
        {
            JsonReport.Write(Path.Combine(dir, "latest.json"), run, summaries);
            JsonReport.WriteMeta(Path.Combine(dir, "latest-meta.json"), run);
            MarkdownReport.Write(Path.Combine(dir, "report.md"), run, summaries, options.Rates);
            PlotReport.Write(Path.Combine(dir, "latency.png"), summaries, run);
        }
        Console.WriteLine();
        Console.WriteLine(MarkdownReport.Summary(summaries, run.QuietSeconds));
        foreach (var s in summaries.Where(s => s.Error is not null))
        {
            Console.WriteLine($"{s.Label}: {s.Status}: {s.Error}");
        }
        Console.WriteLine($"wrote {Path.Combine(options.OutputDirectory, "latest.json")}, report.md, latency.png");
        // A run where not even `direct` worked measured nothing: say so with the exit code.
        return summaries.Any(s => s.Status != "failed") ? 0 : 1;
    }

    /// <summary>direct plus the first proxy that is installed: enough to exercise every part of the harness.</summary>
    private static List<string> SmokeSetups()
    {
        foreach (var candidate in new[] { "haproxy", "nginx" })
        {
            if (File.Exists($"/usr/sbin/{candidate}") || File.Exists($"/usr/bin/{candidate}"))
            {
                return ["direct", candidate];
            }
        }
        return ["direct"];
    }

    private static List<string> Split(string[] values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToList();

    /// <summary>bench/ of the repository: found from the current directory or the program's own location.</summary>
    private static string FindBenchDirectory()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Trellis.slnx")))
                {
                    return Path.Combine(dir.FullName, "bench");
                }
            }
        }
        return Path.Combine(Environment.CurrentDirectory, "bench");
    }

    private static string Machine()
    {
        var model = "";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "";
        }
        catch (IOException)
        {
            // Not Linux-like; leave it out.
        }
        return $"{Environment.ProcessorCount} cores{(model.Length > 0 ? ", " + model : "")}, {Environment.OSVersion}";
    }
}
