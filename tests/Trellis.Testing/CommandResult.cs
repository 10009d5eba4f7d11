namespace Trellis.Testing;

/// <summary>What an external program did: its exit code and everything it wrote.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>A failure message for assertions: the exit code and both streams.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
