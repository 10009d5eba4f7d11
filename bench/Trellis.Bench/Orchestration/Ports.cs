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

    /// <summary>
    /// Waits until something listens on the port, or the process died, or the time is up. Asks the
    /// kernel (<see cref="IsListening"/>) rather than connecting: a connection to a proxy's port is
    /// traffic it forwards (a meshed client-side proxy opens an mTLS connection for it), and the
    /// idle memory measured next is meant to be before any.
    /// </summary>
    public static async Task WaitListeningAsync(int port, ManagedProcess owner, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffsetNow() + timeout;
        while (true)
        {
            if (owner.HasExited)
            {
                throw new SetupFailedException(owner.ExitDescription());
            }
            if (IsListening(port))
            {
                return;
            }
            if (DateTimeOffsetNow() > deadline)
            {
                throw new SetupFailedException($"{owner.Name} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s: {owner.Tail()}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a TCP socket on this machine is listening on the port (any address), from
    /// /proc/net/tcp and /proc/net/tcp6: rows of "sl local_address rem_address st ...", the local
    /// address as hex "ADDRESS:PORT", state 0A = LISTEN.
    /// </summary>
    public static bool IsListening(int port)
    {
        var localPort = ":" + port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[3] == "0A" && fields[1].EndsWith(localPort, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static DateTimeOffset DateTimeOffsetNow() => TimeProvider.System.GetUtcNow();
}
