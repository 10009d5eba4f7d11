namespace Trellis.Cli.Check;

/// <summary>What one check found: passed, or failed with a message (for a warning check, a warning).</summary>
internal readonly record struct CheckOutcome(bool Passed, string Message)
{
    public static CheckOutcome Pass(string message = "") => new(true, message);

    public static CheckOutcome Fail(string message) => new(false, message);
}
