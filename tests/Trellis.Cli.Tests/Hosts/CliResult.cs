namespace Trellis.Cli.Tests.Hosts;

/// <summary>What a finished `trellis` invocation printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr);
