using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Trellis.Controller.Registry;

/// <summary>An IPv4 range (CIDR) with arithmetic for allocating addresses inside it.</summary>
public sealed class AddressRange
{
    private readonly uint _first;

    private AddressRange(IPNetwork network)
    {
        Network = network;
        _first = ToUInt(network.BaseAddress);
        Size = network.PrefixLength == 0 ? uint.MaxValue : (1u << (32 - network.PrefixLength)) - 1;
    }

    /// <summary>The CIDR.</summary>
    public IPNetwork Network { get; }

    /// <summary>Highest offset in the range (the broadcast address's offset).</summary>
    public uint Size { get; }

    /// <summary>Prefix length.</summary>
    public int PrefixLength => Network.PrefixLength;

    /// <summary>Parses an IPv4 CIDR such as <c>10.42.0.0/16</c> (prefix 8..30).</summary>
    public static AddressRange Parse(string cidr, string what)
    {
        if (!IPNetwork.TryParse(cidr, out var network) || network.BaseAddress.AddressFamily != AddressFamily.InterNetwork
            || network.PrefixLength < 8 || network.PrefixLength > 30)
        {
            throw new ArgumentException($"{what} '{cidr}' is not an IPv4 CIDR with a prefix length between 8 and 30");
        }

        return new AddressRange(network);
    }

    /// <summary>The address at <paramref name="offset"/> from the network address.</summary>
    public IPAddress At(uint offset)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, _first + offset);
        return new IPAddress(bytes);
    }

    /// <summary>The offset of <paramref name="address"/>, or -1 when outside the range.</summary>
    public long OffsetOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && Network.Contains(address) ? ToUInt(address) - _first : -1;

    /// <summary>True when the two ranges share any address.</summary>
    public bool Overlaps(IPNetwork other) =>
        other.BaseAddress.AddressFamily == AddressFamily.InterNetwork
        && (Network.Contains(other.BaseAddress) || other.Contains(Network.BaseAddress));

    /// <inheritdoc/>
    public override string ToString() => Network.ToString();

    private static uint ToUInt(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }
}
