using System.Diagnostics;
using System.Text.Json;

namespace Trellis.Bench.Tests;

/// <summary>
/// Runs the real harness at its tiny scale (`--smoke`: direct + one installed proxy, 1 s phases) in
/// its own process and checks that latest.json, report.md and latency.png come out in the published
/// format, the quiet pass included (a 1 s quiet period). Needs wrk and h2load (Debian) like the
/// harness itself; not the trellis proxy.
/// </summary>
public sealed class SmokeTests : IDisposable
{
    private static readonly string[] RequiredKeys =
    [
        "max_rps", "p50_ms_1000", "p99_ms_1000", "p999_ms_1000", "added_p99_ms_1000",
        "proxy_rss_peak_kb", "proxy_anon_peak_kb", "cpu_s_per_10k", "p99_ms_100", "p99_ms_4000",
        "grpc_p99_ms_1000", "max_rps_grpc", "sat_p50_ms", "sat_p99_ms", "grpc_sat_p50_ms", "grpc_sat_p99_ms",
        "sat_p99_ms_vs_haproxy", "grpc_sat_p99_ms_vs_haproxy", "proxy_idle_rss_kb", "proxy_idle_anon_kb",
        "proxy_quiet_rss_kb", "proxy_quiet_anon_kb",
    ];

    private readonly string _out = Path.Combine(Path.GetTempPath(), "trellis-bench-smoke-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Run_Smoke_WritesLatestJsonReportAndPlot()
    {
        var output = await RunBenchAsync("--smoke", "--quiet-seconds", "1", "--out", _out);

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "latest.json")));
        var setups = json.RootElement.EnumerateObject().ToList();
        Assert.Contains(setups, s => s.Name == "direct");
        foreach (var setup in setups)
        {
            foreach (var key in RequiredKeys)
            {
                Assert.True(setup.Value.TryGetProperty(key, out _), $"{setup.Name} lacks {key}");
            }
        }
        var direct = json.RootElement.GetProperty("direct");
        Assert.Equal("ok", direct.GetProperty("status").GetString());
        Assert.True(direct.GetProperty("max_rps").GetDouble() > 0);
        Assert.True(direct.GetProperty("p50_ms_1000").GetDouble() > 0);
        Assert.True(direct.GetProperty("p99_ms_1000").GetDouble() >= direct.GetProperty("p50_ms_1000").GetDouble());
        Assert.Equal(0, direct.GetProperty("added_p99_ms_1000").GetDouble());
        Assert.True(direct.GetProperty("sat_p99_ms").GetDouble() >= direct.GetProperty("sat_p50_ms").GetDouble());
        Assert.True(direct.GetProperty("sat_p50_ms").GetDouble() > 0);
        Assert.True(direct.GetProperty("grpc_sat_p99_ms").GetDouble() >= direct.GetProperty("grpc_sat_p50_ms").GetDouble());
        Assert.True(direct.GetProperty("grpc_sat_p50_ms").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, direct.GetProperty("proxy_rss_peak_kb").ValueKind);
        Assert.Equal(JsonValueKind.Null, direct.GetProperty("proxy_idle_rss_kb").ValueKind);
        Assert.Equal(JsonValueKind.Null, direct.GetProperty("proxy_quiet_rss_kb").ValueKind);
        foreach (var proxy in setups.Where(s => s.Name != "direct"))
        {
            Assert.True(proxy.Value.GetProperty("status").GetString() is "ok" or "partial", proxy.Value.GetProperty("error").ToString());
            Assert.True(proxy.Value.GetProperty("proxy_rss_peak_kb").GetDouble() > 0);
            Assert.True(proxy.Value.GetProperty("proxy_anon_peak_kb").GetDouble() > 0);
            Assert.True(proxy.Value.GetProperty("max_rps").GetDouble() > 0);
            Assert.True(proxy.Value.GetProperty("cpu_s_per_10k").GetDouble() >= 0);
            Assert.True(proxy.Value.GetProperty("sat_p99_ms").GetDouble() > 0);
            var idle = proxy.Value.GetProperty("proxy_idle_rss_kb").GetDouble();
            Assert.InRange(idle, 1, proxy.Value.GetProperty("proxy_rss_peak_kb").GetDouble());
            Assert.All(proxy.Value.GetProperty("proxies").EnumerateArray(), p => Assert.True(p.GetProperty("idle_rss_kb").GetInt64() > 0));
            Assert.True(proxy.Value.GetProperty("proxy_quiet_rss_kb").GetDouble() > 0, output);
            Assert.All(proxy.Value.GetProperty("proxies").EnumerateArray(), p => Assert.True(p.GetProperty("quiet_rss_kb").GetInt64() > 0));
        }

        var png = await File.ReadAllBytesAsync(Path.Combine(_out, "latency.png"));
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        var report = await File.ReadAllTextAsync(Path.Combine(_out, "report.md"));
        Assert.Contains("| setup |", report);
        Assert.Contains("| sat p99 |", report);
        Assert.Contains("| idle RSS MB (anon) | quiet RSS MB (anon) |", report);
        Assert.Contains("then 1 s without traffic", report);
        Assert.Single(Directory.GetFiles(Path.Combine(_out, "runs"), "quiet.json", SearchOption.AllDirectories));
        Assert.Single(Directory.GetFiles(Path.Combine(_out, "runs"), "h2load-direct-1.log", SearchOption.AllDirectories));
    }

    /// <summary>
    /// A setup that cannot start fails its rounds and its quiet pass alike, each with the reason,
    /// and the run still reports the rest.
    /// </summary>
    [Fact]
    public async Task Run_SetupMissing_QuietPassReportsWhy()
    {
        var missing = Path.Combine(_out, "no-such-trellis-proxy");
        await RunBenchAsync("--smoke", "--setups", "direct,trellis", "--trellis", missing, "--no-grpc", "--quiet-seconds", "1", "--out", _out);

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "latest.json")));
        var trellis = json.RootElement.GetProperty("trellis");
        Assert.Equal("failed", trellis.GetProperty("status").GetString());
        Assert.Contains("not found", trellis.GetProperty("quiet_error").GetString());
        Assert.Equal(JsonValueKind.Null, trellis.GetProperty("proxy_quiet_rss_kb").ValueKind);
        Assert.Equal("ok", json.RootElement.GetProperty("direct").GetProperty("status").GetString());
        var report = await File.ReadAllTextAsync(Path.Combine(_out, "report.md"));
        Assert.Contains($"(quiet pass): {missing} not found", report);
    }

    /// <summary>Runs Trellis.Bench in its own process, bounded in time; fails unless it exits 0. Returns its output.</summary>
    private static async Task<string> RunBenchAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Trellis.Bench.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        return output;
    }

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }
}
