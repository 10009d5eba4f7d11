using System.Globalization;
using System.Text.RegularExpressions;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Load;

/// <summary>
/// Latency under saturation (closed loop, so no coordinated-omission correction: it is how long
/// each request took while the setup ran flat out), in milliseconds. The budget compares its p99
/// with HAProxy's in the same topology.
/// </summary>
internal sealed partial record SaturationLatency(double P50Ms, double P90Ms, double P99Ms)
{
    /// <summary>
    /// Reads the "Latency Distribution" block `wrk --latency` prints (`99%    1.20ms`). wrk picks
    /// the unit per line (us, ms, s, and m or h past a minute), and counts every response, not only 2xx.
    /// </summary>
    public static SaturationLatency FromWrk(string output)
    {
        var heading = output.IndexOf("Latency Distribution", StringComparison.Ordinal);
        if (heading < 0)
        {
            throw new SetupFailedException($"wrk printed no latency distribution: {output.Trim()}");
        }
        var byPercentile = new Dictionary<int, double>();
        foreach (Match m in WrkPercentileLine().Matches(output[heading..]))
        {
            var value = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            byPercentile[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = value * MsPerUnit(m.Groups[3].Value);
        }
        if (!byPercentile.TryGetValue(50, out var p50) || !byPercentile.TryGetValue(90, out var p90) || !byPercentile.TryGetValue(99, out var p99))
        {
            throw new SetupFailedException($"wrk's latency distribution lacks p50, p90 or p99: {output.Trim()}");
        }
        return new SaturationLatency(p50, p90, p99);
    }

    /// <summary>
    /// Reads an `h2load --log-file` file (per request, tab-separated: start µs since the epoch,
    /// HTTP status, µs until the end of the response; later columns ignored) and takes the
    /// percentiles of the 2xx requests only, as only they count toward throughput. Null when there
    /// were none.
    /// </summary>
    public static SaturationLatency? FromH2loadLog(string path)
    {
        var histogram = PhaseResult.NewHistogram();
        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split('\t');
            if (fields.Length < 3
                || !int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var status)
                || status is < 200 or > 299
                || !long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var micros))
            {
                continue;
            }
            histogram.RecordValue(Math.Clamp(micros, 1, histogram.HighestTrackableValue));
        }
        if (histogram.TotalCount == 0)
        {
            return null;
        }
        return new SaturationLatency(
            histogram.GetValueAtPercentile(50) / 1000.0,
            histogram.GetValueAtPercentile(90) / 1000.0,
            histogram.GetValueAtPercentile(99) / 1000.0);
    }

    private static double MsPerUnit(string unit) => unit switch
    {
        "us" => 0.001,
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => 3_600_000,
    };

    [GeneratedRegex(@"^\s+([0-9]+)%\s+([0-9.]+)(us|ms|s|m|h)\s*$", RegexOptions.Multiline)]
    private static partial Regex WrkPercentileLine();
}
