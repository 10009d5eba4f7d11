namespace Trellis.Cli.Commands;

/// <summary>A failure shown to the user as one clear line, with the exit code it means.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message, int exitCode = 1)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>1: the operation failed; 2: it cannot run here (usage, privileges).</summary>
    public int ExitCode { get; }
}
