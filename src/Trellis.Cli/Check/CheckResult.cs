namespace Trellis.Cli.Check;

/// <summary>The status of a check after a run.</summary>
internal enum CheckStatus
{
    Ok,
    Warning,
    Error,
    Skipped,
}

/// <summary>One rendered line of `trellis check`.</summary>
internal sealed record CheckResult(string Category, string Description, CheckStatus Status, string Message, string Hint);
