namespace Trellis.Bench.Reporting;

/// <summary>What a report says about the run itself.</summary>
internal sealed record RunInfo(string Mode, DateTimeOffset Started, int Hops, int Rounds, IReadOnlyList<int> Rates, double PhaseSeconds, double SaturationSeconds, string Pinning, string Machine, double QuietSeconds = 0);
