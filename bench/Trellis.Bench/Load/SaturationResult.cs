namespace Trellis.Bench.Load;

/// <summary>A closed-loop saturation run: the rate achieved and how many requests failed.</summary>
internal sealed record SaturationResult(double RequestsPerSecond, long Requests, long Errors, string Tool);
