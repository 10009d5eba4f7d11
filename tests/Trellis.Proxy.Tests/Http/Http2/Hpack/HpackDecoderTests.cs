using System.Buffers;
using Trellis.Proxy.Http.Http2.Hpack;
using static Trellis.Proxy.Tests.Http.Http2.Hpack.HpackTestBlocks;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

public class HpackDecoderTests
{
    [Theory]
    [InlineData("80")] // index 0
    [InlineData("be")] // index 62, the dynamic table is empty
    [InlineData("ff00")] // index 127
    [InlineData("ff")] // integer truncated after its prefix
    [InlineData("ff80")] // integer truncated after a continuation byte
    [InlineData("ffffffffff0f")] // 2^32 + 126
    [InlineData("ff8080808080808000")] // continuation bytes past 32 bits
    [InlineData("0005 61")] // string literal longer than the block
    [InlineData("00")] // block ends before the name
    [InlineData("0084 ffffffff 00")] // Huffman string containing EOS
    [InlineData("0081 18 00")] // Huffman padding not all ones
    [InlineData("0082 1fff 00")] // Huffman padding longer than 7 bits
    [InlineData("3fe21f")] // table size update to 4097, above 4096
    [InlineData("82 20")] // table size update after a field
    public void Decode_MalformedBlock_ThrowsHpackException(string hex)
    {
        var decoder = new HpackDecoder();

        Assert.Throws<HpackException>(() => Decode(decoder, hex));
    }

    [Fact]
    public void Decode_HeaderListAboveMaximum_ThrowsHpackException()
    {
        // :method: GET counts 7 + 3 + 32 = 42 octets.
        var decoder = new HpackDecoder(maxHeaderListSize: 100);

        Assert.Equal(2, Decode(decoder, "8282").Count);
        Assert.Throws<HpackException>(() => Decode(decoder, "828282"));
    }

    [Fact]
    public void Decode_HuffmanPaddingOfOnes_IsAccepted()
    {
        var decoder = new HpackDecoder();

        Assert.Equal([new("a", "")], Decode(decoder, "0081 1f 00"));
    }

    [Fact]
    public void Decode_EmptyBlock_AddsNothing()
    {
        var headers = Decode(new HpackDecoder(), "");

        Assert.Empty(headers);
    }

    [Fact]
    public void Decode_SegmentedBlock_DecodesLikeAContiguousOne()
    {
        var decoder = new HpackDecoder();
        var headers = new List<HeaderField>();

        decoder.Decode(SegmentedSequence.Create(Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff").ToArray(), 3), headers);

        Assert.Equal([new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "www.example.com")], headers);
    }

    [Fact]
    public void Decode_TableSizeUpdates_EvictOldestEntriesAndMayEmptyTheTable()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        Decode(decoder, "8286 84be 5808 6e6f 2d63 6163 6865");
        Decode(decoder, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65");

        Assert.Equal([new(":method", "GET")], Decode(decoder, "3f1d 82")); // size 60, then a field

        AssertDynamicTable(decoder, 54, ("custom-key", "custom-value"));

        Assert.Empty(Decode(decoder, "20 3f9a0a")); // size 0, then 1337 (RFC 7541 C.1.2's integer)
        AssertDynamicTable(decoder, 0);
    }

    [Fact]
    public void Decode_EntryLargerThanTheTable_EmptiesTheTable()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 64);
        Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");

        var headers = Decode(decoder, "4001 78 20" + string.Concat(Enumerable.Repeat("79", 32)));

        Assert.Equal(new string('y', 32), Assert.Single(headers).Value);
        AssertDynamicTable(decoder, 0);
    }

    [Fact]
    public void Decode_StaticTableNames_ReturnTheStaticInstances()
    {
        // content-type as a literal name, then as an indexed name (31).
        var headers = Decode(new HpackDecoder(), "000c 636f 6e74 656e 742d 7479 7065 00 0f10 00");

        Assert.Equal(2, headers.Count);
        Assert.Same(HpackStaticTable.Get(31).Name, headers[0].Name);
        Assert.Same(HpackStaticTable.Get(31).Name, headers[1].Name);
    }

    [Fact]
    public void Decode_Latin1Value_KeepsEveryOctet()
    {
        var headers = Decode(new HpackDecoder(), "0001 78 02 e9ff");

        Assert.Equal("\u00e9\u00ff", Assert.Single(headers).Value);
    }
}
