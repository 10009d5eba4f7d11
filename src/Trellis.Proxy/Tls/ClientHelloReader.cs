using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Text;

namespace Trellis.Proxy.Tls;

/// <summary>
/// Reads the SNI and ALPN extensions of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3,
/// RFC 7301 3.1) from the bytes received so far, without consuming any: the caller peeks with
/// <c>AdvanceTo(start, end)</c> and hands the untouched bytes to whichever layer is chosen.
/// The hello may arrive split across reads and fragmented across several TLS records; it is
/// reassembled into one pooled buffer, bounded by <see cref="MaxClientHelloLength"/>.
/// Hand-written because neither SslStream nor any maintained library exposes a ClientHello
/// parser that works before (or without) a handshake.
/// </summary>
public static class ClientHelloReader
{
    /// <summary>Largest ClientHello body accepted; real ones are 0.5-2 KiB (with post-quantum key shares).</summary>
    public const int MaxClientHelloLength = 16 * 1024;

    private const byte HandshakeRecord = 22;
    private const byte ClientHelloType = 1;
    private const int RecordHeaderLength = 5;
    private const int HandshakeHeaderLength = 4;
    private const int MaxRecordLength = 16 * 1024;
    private const ushort ServerNameExtension = 0;
    private const ushort AlpnExtension = 16;
    private const byte HostNameType = 0;

    /// <summary>Tries to read a whole ClientHello from the start of <paramref name="input"/>.</summary>
    /// <param name="info">Set when the result is <see cref="ClientHelloStatus.Parsed"/>.</param>
    public static ClientHelloStatus TryRead(in ReadOnlySequence<byte> input, out ClientHelloInfo? info)
    {
        info = null;
        var reader = new SequenceReader<byte>(input);
        var buffer = ArrayPool<byte>.Shared.Rent(HandshakeHeaderLength + MaxClientHelloLength);
        try
        {
            var filled = 0;
            var needed = -1;
            while (true)
            {
                if (!reader.TryRead(out var type))
                {
                    return ClientHelloStatus.NeedMoreData;
                }

                if (type != HandshakeRecord)
                {
                    return ClientHelloStatus.Invalid;
                }

                if (!reader.TryRead(out var major))
                {
                    return ClientHelloStatus.NeedMoreData;
                }

                if (major != 3)
                {
                    return ClientHelloStatus.Invalid;
                }

                if (!reader.TryRead(out _) || !reader.TryReadBigEndian(out short length))
                {
                    return ClientHelloStatus.NeedMoreData;
                }

                var recordLength = (ushort)length;
                if (recordLength is 0 or > MaxRecordLength)
                {
                    return ClientHelloStatus.Invalid;
                }

                // Copy what has arrived of this record's fragment, but never past the hello's end.
                var want = needed < 0 ? buffer.Length - filled : needed - filled;
                var take = (int)Math.Min(Math.Min(reader.Remaining, recordLength), want);
                reader.TryCopyTo(buffer.AsSpan(filled, take));
                reader.Advance(take);
                filled += take;

                if (needed < 0 && filled >= HandshakeHeaderLength)
                {
                    if (buffer[0] != ClientHelloType)
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    var bodyLength = (buffer[1] << 16) | (buffer[2] << 8) | buffer[3];
                    if (bodyLength > MaxClientHelloLength)
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    needed = HandshakeHeaderLength + bodyLength;
                }
                else if (needed < 0 && filled > 0 && buffer[0] != ClientHelloType)
                {
                    return ClientHelloStatus.Invalid;
                }

                if (needed >= 0 && filled >= needed)
                {
                    return ParseBody(buffer.AsSpan(HandshakeHeaderLength, needed - HandshakeHeaderLength), out info);
                }

                if (take < recordLength)
                {
                    // The input ends inside this record (the hello's own end was handled above).
                    return ClientHelloStatus.NeedMoreData;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ClientHelloStatus ParseBody(ReadOnlySpan<byte> body, out ClientHelloInfo? info)
    {
        info = null;
        string? serverName = null;
        SslApplicationProtocol[] protocols = [];
        var sawServerName = false;
        var sawAlpn = false;

        // legacy_version (2) and random (32)
        if (body.Length < 34)
        {
            return ClientHelloStatus.Invalid;
        }

        var rest = body[34..];
        if (!TryTakeVector8(ref rest, out var sessionId) || sessionId.Length > 32
            || !TryTakeVector16(ref rest, out var cipherSuites) || cipherSuites.Length < 2 || cipherSuites.Length % 2 != 0
            || !TryTakeVector8(ref rest, out var compression) || compression.IsEmpty)
        {
            return ClientHelloStatus.Invalid;
        }

        if (!rest.IsEmpty)
        {
            if (!TryTakeVector16(ref rest, out var extensions) || !rest.IsEmpty)
            {
                return ClientHelloStatus.Invalid;
            }

            while (!extensions.IsEmpty)
            {
                if (extensions.Length < 2)
                {
                    return ClientHelloStatus.Invalid;
                }

                var type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
                extensions = extensions[2..];
                if (!TryTakeVector16(ref extensions, out var data))
                {
                    return ClientHelloStatus.Invalid;
                }

                if (type == ServerNameExtension)
                {
                    if (sawServerName || !TryReadServerName(data, out serverName))
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    sawServerName = true;
                }
                else if (type == AlpnExtension)
                {
                    if (sawAlpn || !TryReadAlpn(data, out protocols))
                    {
                        return ClientHelloStatus.Invalid;
                    }

                    sawAlpn = true;
                }
            }
        }

        info = new ClientHelloInfo(serverName, protocols);
        return ClientHelloStatus.Parsed;
    }

    private static bool TryReadServerName(ReadOnlySpan<byte> data, out string? serverName)
    {
        serverName = null;
        if (!TryTakeVector16(ref data, out var list) || !data.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        while (!list.IsEmpty)
        {
            var nameType = list[0];
            list = list[1..];
            if (!TryTakeVector16(ref list, out var name) || name.IsEmpty)
            {
                return false;
            }

            if (nameType != HostNameType)
            {
                continue;
            }

            if (serverName is not null)
            {
                return false;
            }

            foreach (var c in name)
            {
                if (c is <= 0x20 or >= 0x7f)
                {
                    return false;
                }
            }

            serverName = Encoding.ASCII.GetString(name);
        }

        return true;
    }

    private static bool TryReadAlpn(ReadOnlySpan<byte> data, out SslApplicationProtocol[] protocols)
    {
        protocols = [];
        if (!TryTakeVector16(ref data, out var list) || !data.IsEmpty || list.IsEmpty)
        {
            return false;
        }

        // Two passes: validate and count, then allocate exactly once.
        var count = 0;
        for (var scan = list; !scan.IsEmpty; count++)
        {
            if (!TryTakeVector8(ref scan, out var name) || name.IsEmpty)
            {
                return false;
            }
        }

        protocols = new SslApplicationProtocol[count];
        for (var i = 0; i < count; i++)
        {
            TryTakeVector8(ref list, out var name);
            protocols[i] = new SslApplicationProtocol(name.ToArray());
        }

        return true;
    }

    /// <summary>Takes a vector with a one-byte length prefix off the front of <paramref name="span"/>.</summary>
    private static bool TryTakeVector8(ref ReadOnlySpan<byte> span, out ReadOnlySpan<byte> vector)
    {
        vector = default;
        if (span.IsEmpty || span.Length < 1 + span[0])
        {
            return false;
        }

        vector = span.Slice(1, span[0]);
        span = span[(1 + span[0])..];
        return true;
    }

    /// <summary>Takes a vector with a two-byte length prefix off the front of <paramref name="span"/>.</summary>
    private static bool TryTakeVector16(ref ReadOnlySpan<byte> span, out ReadOnlySpan<byte> vector)
    {
        vector = default;
        if (span.Length < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(span);
        if (span.Length < 2 + length)
        {
            return false;
        }

        vector = span.Slice(2, length);
        span = span[(2 + length)..];
        return true;
    }
}
