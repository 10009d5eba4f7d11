using HdrHistogram;

namespace Trellis.Bench.Load;

/// <summary>What one fixed-rate phase measured: latency distribution (microseconds), counts and the rate achieved.</summary>
internal sealed class PhaseResult
{
    /// <summary>Percentiles kept for reports and the plot (100 means the maximum).</summary>
    public static readonly double[] Percentiles = [0, 25, 50, 75, 90, 95, 97, 99, 99.5, 99.7, 99.9, 99.95, 99.97, 99.99, 100];

    public PhaseResult(HistogramBase histogram, long requests, long errors, double seconds, string? firstError)
    {
        Requests = requests;
        Errors = errors;
        Seconds = seconds;
        FirstError = firstError;
        LatencyMsByPercentile = new double[Percentiles.Length];
        for (var i = 0; i < Percentiles.Length; i++)
        {
            LatencyMsByPercentile[i] = histogram.TotalCount == 0
                ? double.NaN
                : (Percentiles[i] >= 100 ? histogram.GetMaxValue() : histogram.GetValueAtPercentile(Percentiles[i])) / 1000.0;
        }
    }

    public long Requests { get; }

    public long Errors { get; }

    public double Seconds { get; }

    public string? FirstError { get; }

    /// <summary>
    /// When the slowest request was due, in seconds from the phase's start: tells a stall at a
    /// phase's start (the harness: connections, warm-up) from one in its middle (the machine).
    /// </summary>
    public double WorstAtSeconds { get; init; } = double.NaN;

    public double AchievedRps => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>Latency in milliseconds at each entry of <see cref="Percentiles"/>.</summary>
    public double[] LatencyMsByPercentile { get; }

    public double At(double percentile) => LatencyMsByPercentile[Array.IndexOf(Percentiles, percentile)];

    /// <summary>A histogram sized for 1 µs to 60 s at three significant digits.</summary>
    public static LongHistogram NewHistogram() => new(60_000_000L, 3);
}
