namespace Trellis.Cli.Tests.Hosts;

/// <summary>
/// Hosts-mode tests share one host: a single bridge (trellis0), one pod range, and `trellis down`
/// removes every trellis pod. Tests that bring a cluster up must therefore never run concurrently.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostsModeCollection
{
    public const string Name = "hosts mode (root, one bridge)";
}
