namespace Trellis.Bench.Orchestration;

/// <summary>A setup could not be started or did not forward correctly; the message goes into the report.</summary>
internal sealed class SetupFailedException(string message) : Exception(message);
