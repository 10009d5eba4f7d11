using Microsoft.Extensions.Hosting;

namespace Trellis.Controller.Tests.Destination;

/// <summary>An application lifetime the test stops by hand.</summary>
internal sealed class ManualLifetime : IHostApplicationLifetime, IDisposable
{
    public CancellationTokenSource Stopping { get; } = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => Stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => Stopping.Cancel();

    public void Dispose() => Stopping.Dispose();
}
