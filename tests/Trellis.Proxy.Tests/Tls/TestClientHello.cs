using System.Buffers;
using System.Text;

namespace Trellis.Proxy.Tests.Tls;

/// <summary>Builds TLS 1.3-shaped ClientHello bytes with chosen SNI and ALPN, optionally fragmented into several records.</summary>
internal static class TestClientHello
{
    public static byte[] Build(string? serverName, string[]? alpn, int maxFragment = 16384, bool withExtensions = true, byte[]? extraExtension = null)
    {
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);
        body.Add(32);
        body.AddRange(Enumerable.Repeat((byte)7, 32));
        body.AddRange(new byte[] { 0, 2, 0x13, 0x01 });
        body.AddRange(new byte[] { 1, 0 });
        if (withExtensions)
        {
            var extensions = new List<byte>();
            if (serverName is not null)
            {
                var name = Encoding.ASCII.GetBytes(serverName);
                var entry = Concat([0], U16(name.Length), name);
                extensions.AddRange(Extension(0, Concat(U16(entry.Length), entry)));
            }

            if (alpn is not null)
            {
                var list = alpn.SelectMany(p => Concat([(byte)p.Length], Encoding.ASCII.GetBytes(p))).ToArray();
                extensions.AddRange(Extension(16, Concat(U16(list.Length), list)));
            }

            extensions.AddRange(Extension(43, [2, 3, 4]));
            if (extraExtension is not null)
            {
                extensions.AddRange(extraExtension);
            }

            body.AddRange(U16(extensions.Count));
            body.AddRange(extensions);
        }

        var handshake = Concat([1, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count], body.ToArray());
        return Records(handshake, maxFragment);
    }

    public static byte[] Extension(int type, byte[] data) => Concat(U16(type), U16(data.Length), data);

    public static byte[] Records(byte[] handshake, int maxFragment)
    {
        var output = new List<byte>();
        for (var offset = 0; offset < handshake.Length; offset += maxFragment)
        {
            var fragment = handshake.AsSpan(offset, Math.Min(maxFragment, handshake.Length - offset)).ToArray();
            output.AddRange(Concat([22, 3, 1], U16(fragment.Length), fragment));
        }

        return output.ToArray();
    }

    /// <summary>A sequence of several segments, cut at the given offsets.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToArray();
        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var end in bounds)
        {
            var segment = new Segment(bytes.AsMemory(start, end - start), last);
            first ??= segment;
            last = segment;
            start = end;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
