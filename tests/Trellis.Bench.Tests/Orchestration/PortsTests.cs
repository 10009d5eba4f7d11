using System.Net;
using System.Net.Sockets;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Tests.Orchestration;

public sealed class PortsTests
{
    [Fact]
    public void IsListening_WhileAListenerIsOpen_ThenNotOnceItStops()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Assert.True(Ports.IsListening(port));

        listener.Stop();
        Assert.False(Ports.IsListening(port));
    }

    /// <summary>A proxy forwards whatever connects to it: the wait before the idle measurement must not be traffic.</summary>
    [Fact]
    public async Task WaitListeningAsync_Listening_ReturnsWithoutConnecting()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var owner = ManagedProcess.Start("sleep", "sleep", ["30"]);

            await Ports.WaitListeningAsync(((IPEndPoint)listener.LocalEndpoint).Port, owner, TimeSpan.FromSeconds(5), CancellationToken.None);

            Assert.False(listener.Pending());
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task WaitListeningAsync_NothingListens_FailsWithTheOwnersName()
    {
        var port = Ports.Free();
        using var owner = ManagedProcess.Start("sleep", "sleep", ["30"]);

        var failure = await Assert.ThrowsAsync<SetupFailedException>(() => Ports.WaitListeningAsync(port, owner, TimeSpan.FromMilliseconds(200), CancellationToken.None));

        Assert.Contains($"sleep did not listen on 127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
    }
}
