using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Controller.State;

namespace Trellis.Cli.Check;

/// <summary>What checks share: the state directory, one controller connection, and answers fetched once.</summary>
internal sealed class CheckContext : IDisposable
{
    public CheckContext(StateDirectory state, string? controllerAddress, TimeProvider time)
    {
        State = state;
        ControllerAddress = controllerAddress;
        Time = time;
    }

    public StateDirectory State { get; }

    public string? ControllerAddress { get; }

    public TimeProvider Time { get; }

    public ControllerClient? Client { get; set; }

    public ControllerInfo? Info { get; set; }

    public ListPodsResponse? Pods { get; set; }

    public void Dispose() => Client?.Dispose();
}
