namespace Trellis.Bench.Setups;

/// <summary>The floor: the client talks to the origin with no proxy.</summary>
internal sealed class DirectSetup : Setup
{
    public override string Name => "direct";

    public override Task<RunningSetup> StartAsync(BenchProtocol protocol, SetupContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new RunningSetup(context.Origin(protocol), []));
}
