using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Reads where an intercepted connection was going before iptables <c>REDIRECT</c> sent it to
/// the proxy, with <c>getsockopt(SO_ORIGINAL_DST)</c>. <see cref="Socket.GetRawSocketOption"/>
/// does that without P/Invoke.
/// </summary>
public static class OriginalDestination
{
    private const int SolIp = 0;
    private const int SolIpv6 = 41;
    private const int SoOriginalDst = 80;

    /// <summary>Returns the original destination, or null when the connection was not redirected.</summary>
    public static IPEndPoint? Read(Socket socket)
    {
        Span<byte> buffer = stackalloc byte[28];
        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetworkV6)
            {
                var length = socket.GetRawSocketOption(SolIpv6, SoOriginalDst, buffer);
                return length >= 24 ? ParseIpv6(buffer) : null;
            }

            var read = socket.GetRawSocketOption(SolIp, SoOriginalDst, buffer);
            return read >= 8 ? ParseIpv4(buffer) : null;
        }
        catch (SocketException)
        {
            // ENOENT: no conntrack entry, so nothing redirected this connection.
            return null;
        }
    }

    /// <summary>Parses a <c>struct sockaddr_in</c>: family, port (network order), address.</summary>
    internal static IPEndPoint ParseIpv4(ReadOnlySpan<byte> sockaddr)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        return new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port);
    }

    /// <summary>Parses a <c>struct sockaddr_in6</c>: family, port, flow info, address, scope.</summary>
    internal static IPEndPoint ParseIpv6(ReadOnlySpan<byte> sockaddr)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        var scope = BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..]);
        return new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16), scope), port);
    }
}
