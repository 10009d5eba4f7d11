namespace Trellis.Cli.Check;

/// <summary>One check as data: what it verifies, how to fix it, how bad a failure is, and the probe.</summary>
internal sealed record CheckDefinition(
    string Category,
    string Description,
    string Hint,
    CheckSeverity Severity,
    Func<CheckContext, CancellationToken, Task<CheckOutcome>> Run);
