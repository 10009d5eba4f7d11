using System.Buffers;
using System.Text;

namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// A stateless HPACK encoder (RFC 7541): static-table matches become indexed fields or indexed
/// names, everything else a plain literal. It never inserts into the peer's dynamic table and
/// never Huffman-codes, trading a few bytes per block for no per-connection state and no
/// dependence on the peer's SETTINGS_HEADER_TABLE_SIZE.
/// </summary>
internal static class HpackEncoder
{
    private const byte Indexed = 0x80;
    private const byte WithoutIndexing = 0x00;
    private const byte NeverIndexed = 0x10;

    /// <summary>Encodes <paramref name="headers"/> in order as one field block. Names are written as given.</summary>
    public static void Encode(IReadOnlyList<HeaderField> headers, IBufferWriter<byte> output)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            var field = headers[i];
            var (fieldIndex, nameIndex) = HpackStaticTable.Find(field.Name, field.Value);
            var literal = field.NeverIndexed ? NeverIndexed : WithoutIndexing;
            if (fieldIndex > 0 && !field.NeverIndexed)
            {
                WriteInteger(output, Indexed, 7, fieldIndex);
            }
            else if (nameIndex > 0)
            {
                WriteInteger(output, literal, 4, nameIndex);
                WriteString(output, field.Value);
            }
            else
            {
                WriteInteger(output, literal, 4, 0);
                WriteString(output, field.Name);
                WriteString(output, field.Value);
            }
        }
    }

    // An integer with an N-bit prefix (section 5.1): at most 1 + 5 bytes for an int.
    private static void WriteInteger(IBufferWriter<byte> output, byte pattern, int prefixBits, int value)
    {
        var span = output.GetSpan(6);
        output.Advance(FormatInteger(span, pattern, prefixBits, value));
    }

    private static int FormatInteger(Span<byte> span, byte pattern, int prefixBits, int value)
    {
        var prefixMask = (1 << prefixBits) - 1;
        if (value < prefixMask)
        {
            span[0] = (byte)(pattern | value);
            return 1;
        }

        span[0] = (byte)(pattern | prefixMask);
        var rest = (uint)(value - prefixMask);
        var written = 1;
        while (rest >= 0x80)
        {
            span[written++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        span[written++] = (byte)rest;
        return written;
    }

    // A string literal without Huffman coding: its octets are the string's Latin-1 characters.
    private static void WriteString(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(6 + text.Length);
        var written = FormatInteger(span, 0x00, 7, text.Length);
        written += Encoding.Latin1.GetBytes(text, span[written..]);
        output.Advance(written);
    }
}
