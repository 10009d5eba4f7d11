using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Protos;

namespace Trellis.Bench.Load;

/// <summary>
/// Closed-loop saturation for maximum throughput, with the C load generators Debian ships: wrk for
/// HTTP/1.1 (as DESIGN.md's figures were taken: one thread, 20 connections) and h2load for gRPC unary
/// (a POST of one framed EchoMessage with gRPC headers, several streams per connection). Both are far
/// cheaper per request than a .NET client, which matters because they share a core with the origin.
/// Each also reports the latency it saw while saturating (see <see cref="SaturationLatency"/>).
/// </summary>
internal static partial class Saturation
{
    public static async Task<SaturationResult> Http1Async(IPEndPoint endpoint, int connections, TimeSpan duration, CpuPlan cpu, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var (file, args) = cpu.Wrap("wrk", ["-t1", $"-c{connections}", $"-d{seconds}s", "--timeout", "5s", "--latency", $"http://{endpoint}/"], proxy: false);
        var (exit, output) = await ManagedProcess.RunAsync(file, args, duration + TimeSpan.FromSeconds(20), cancellationToken);
        if (exit != 0)
        {
            throw new SetupFailedException($"wrk exited with {exit}: {output.Trim()}");
        }
        return ParseWrk(output);
    }

    /// <summary>h2load writes one line per request to <paramref name="logFile"/>: the latency figures come from it, and it stays for later digging.</summary>
    public static async Task<SaturationResult> GrpcAsync(IPEndPoint endpoint, int connections, TimeSpan duration, string workDirectory, string logFile, CpuPlan cpu, CancellationToken cancellationToken)
    {
        var body = Path.Combine(workDirectory, "grpc-echo-request.bin");
        if (!File.Exists(body))
        {
            await File.WriteAllBytesAsync(body, GrpcFrame(), cancellationToken);
        }
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var (file, args) = cpu.Wrap("h2load",
        [
            "-t1", $"-c{Math.Max(1, connections / 4)}", "-m16", "-D", seconds.ToString(CultureInfo.InvariantCulture), "-T", "5",
            "-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "--log-file", logFile, $"http://{endpoint}/trellis.bench.Echo/Echo",
        ], proxy: false);
        var (exit, output) = await ManagedProcess.RunAsync(file, args, duration + TimeSpan.FromSeconds(20), cancellationToken);
        if (exit != 0)
        {
            throw new SetupFailedException($"h2load exited with {exit}: {output.Trim()}");
        }
        return ParseH2load(output) with { Latency = SaturationLatency.FromH2loadLog(logFile) };
    }

    /// <summary>One gRPC length-prefixed message (uncompressed) carrying the same 32-byte payload as the open-loop calls.</summary>
    internal static byte[] GrpcFrame()
    {
        var message = new EchoMessage { Payload = ByteString.CopyFrom(new byte[32]) }.ToByteArray();
        var frame = new byte[5 + message.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    internal static SaturationResult ParseWrk(string output)
    {
        var rps = WrkRps().Match(output);
        var requests = WrkRequests().Match(output);
        if (!rps.Success || !requests.Success)
        {
            throw new SetupFailedException($"unexpected wrk output: {output.Trim()}");
        }
        long errors = 0;
        var non2xx = WrkNon2xx().Match(output);
        if (non2xx.Success)
        {
            errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        var socket = WrkSocketErrors().Match(output);
        if (socket.Success)
        {
            for (var g = 1; g <= 4; g++)
            {
                errors += long.Parse(socket.Groups[g].Value, CultureInfo.InvariantCulture);
            }
        }
        return new SaturationResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
            errors,
            "wrk",
            SaturationLatency.FromWrk(output));
    }

    internal static SaturationResult ParseH2load(string output)
    {
        var finished = H2loadFinished().Match(output);
        var requests = H2loadRequests().Match(output);
        var status = H2loadStatus().Match(output);
        if (!finished.Success || !requests.Success || !status.Success)
        {
            throw new SetupFailedException($"unexpected h2load output: {output.Trim()}");
        }
        var done = long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture);
        var ok = long.Parse(status.Groups[1].Value, CultureInfo.InvariantCulture);
        var rps = double.Parse(finished.Groups[1].Value, CultureInfo.InvariantCulture);
        // Only 2xx answers count toward throughput.
        var okRps = done > 0 ? rps * ok / done : 0;
        return new SaturationResult(okRps, ok, Math.Max(0, done - ok), "h2load", Latency: null);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex WrkRps();

    [GeneratedRegex(@"([0-9]+) requests in")]
    private static partial Regex WrkRequests();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+([0-9]+)")]
    private static partial Regex WrkNon2xx();

    [GeneratedRegex(@"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)")]
    private static partial Regex WrkSocketErrors();

    [GeneratedRegex(@"finished in [0-9.]+\w*, ([0-9.]+) req/s")]
    private static partial Regex H2loadFinished();

    [GeneratedRegex(@"requests: [0-9]+ total, [0-9]+ started, ([0-9]+) done")]
    private static partial Regex H2loadRequests();

    [GeneratedRegex(@"status codes: ([0-9]+) 2xx")]
    private static partial Regex H2loadStatus();
}
