namespace Trellis.Cli.Check;

/// <summary>Runs checks in order; after a fatal failure the rest are reported as skipped.</summary>
internal static class CheckRunner
{
    public static async Task<List<CheckResult>> RunAsync(IReadOnlyList<CheckDefinition> checks, CheckContext context, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>();
        string? blockedBy = null;
        foreach (var check in checks)
        {
            if (blockedBy is not null)
            {
                results.Add(new CheckResult(check.Category, check.Description, CheckStatus.Skipped, $"skipped: {blockedBy} failed", check.Hint));
                continue;
            }

            CheckOutcome outcome;
            try
            {
                outcome = await check.Run(context, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                outcome = CheckOutcome.Fail(e.Message);
            }

            var status = outcome.Passed ? CheckStatus.Ok : check.Severity == CheckSeverity.Warning ? CheckStatus.Warning : CheckStatus.Error;
            results.Add(new CheckResult(check.Category, check.Description, status, outcome.Message, check.Hint));
            if (!outcome.Passed && check.Severity == CheckSeverity.Fatal)
            {
                blockedBy = check.Description;
            }
        }

        return results;
    }

    public static bool Succeeded(IEnumerable<CheckResult> results) =>
        results.All(r => r.Status is CheckStatus.Ok or CheckStatus.Warning);
}
