using System.Net;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>A started setup: where the client connects, and the proxy processes to measure and stop.</summary>
internal sealed class RunningSetup(IPEndPoint entry, IReadOnlyList<ManagedProcess> proxies) : IDisposable
{
    public IPEndPoint Entry { get; } = entry;

    public IReadOnlyList<ManagedProcess> Proxies { get; } = proxies;

    public void Dispose()
    {
        foreach (var p in Proxies)
        {
            p.Dispose();
        }
    }
}
