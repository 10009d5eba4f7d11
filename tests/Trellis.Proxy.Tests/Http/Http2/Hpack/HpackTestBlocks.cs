using System.Buffers;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

internal static class HpackTestBlocks
{
    /// <summary>Bytes from hex as RFC 7541 prints them, spaces and line breaks ignored.</summary>
    public static ReadOnlySequence<byte> Hex(string hex)
    {
        return new ReadOnlySequence<byte>(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal)));
    }

    public static List<HeaderField> Decode(HpackDecoder decoder, string hex)
    {
        var headers = new List<HeaderField>();
        decoder.Decode(Hex(hex), headers);
        return headers;
    }

    /// <summary>
    /// Checks the decoder's dynamic table against the RFC's listing, newest first, by decoding
    /// each dynamic index as an indexed field (which leaves the table unchanged) and the index
    /// just past the end, which must fail.
    /// </summary>
    public static void AssertDynamicTable(HpackDecoder decoder, int size, params (string Name, string Value)[] entries)
    {
        Assert.Equal(size, decoder.DynamicTableSize);
        Assert.Equal(entries.Length, decoder.DynamicTableCount);
        for (var i = 0; i < entries.Length; i++)
        {
            var headers = new List<HeaderField>();
            decoder.Decode(new ReadOnlySequence<byte>([(byte)(0x80 | (62 + i))]), headers);
            Assert.Equal(new HeaderField(entries[i].Name, entries[i].Value), Assert.Single(headers));
        }

        Assert.Throws<HpackException>(
            () => decoder.Decode(new ReadOnlySequence<byte>([(byte)(0x80 | (62 + entries.Length))]), []));
    }
}
