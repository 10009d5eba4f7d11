namespace Trellis.Bench.Load;

/// <summary>A closed-loop saturation run: the rate achieved, how many requests failed, and their latency (null when none succeeded).</summary>
internal sealed record SaturationResult(double RequestsPerSecond, long Requests, long Errors, string Tool, SaturationLatency? Latency);
