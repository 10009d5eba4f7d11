namespace Trellis.Cli.Client;

/// <summary>gRPC deadlines are absolute UTC times; taken from TimeProvider so the banned DateTime.UtcNow stays out.</summary>
internal static class Deadlines
{
    public static DateTime In(TimeSpan span) => (TimeProvider.System.GetUtcNow() + span).UtcDateTime;
}
