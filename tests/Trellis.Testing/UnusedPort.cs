using System.Net;
using System.Net.Sockets;

namespace Trellis.Testing;

/// <summary>A loopback endpoint nothing listens on: a port bound, then released.</summary>
public static class UnusedPort
{
    public static IPEndPoint Loopback()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)listener.LocalEndPoint!;
    }
}
