using System.Net;
using System.Net.Sockets;

namespace Trellis.Bench.Orchestration;

/// <summary>Free loopback ports, taken from the kernel (bind to 0) so parallel runs never collide.</summary>
internal static class Ports
{
    public static int Free()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    public static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    /// <summary>Waits until something accepts on the port, or the process died, or the time is up.</summary>
    public static async Task WaitListeningAsync(int port, ManagedProcess owner, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffsetNow() + timeout;
        while (true)
        {
            if (owner.HasExited)
            {
                throw new SetupFailedException(owner.ExitDescription());
            }
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
                return;
            }
            catch (SocketException)
            {
                if (DateTimeOffsetNow() > deadline)
                {
                    throw new SetupFailedException($"{owner.Name} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s: {owner.Tail()}");
                }
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static DateTimeOffset DateTimeOffsetNow() => TimeProvider.System.GetUtcNow();
}
