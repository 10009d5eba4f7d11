namespace Trellis.Cli.Check;

/// <summary>A fatal check stops the run when it fails (later checks would only repeat the cause); a warning never fails it.</summary>
internal enum CheckSeverity
{
    Fatal,
    Error,
    Warning,
}
