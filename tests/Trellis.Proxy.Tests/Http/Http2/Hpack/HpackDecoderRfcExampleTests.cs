using Trellis.Proxy.Http.Http2.Hpack;
using static Trellis.Proxy.Tests.Http.Http2.Hpack.HpackTestBlocks;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

/// <summary>The examples of RFC 7541 Appendix C, decoded with the RFC's dynamic table after each block.</summary>
public class HpackDecoderRfcExampleTests
{
    private const string Date21 = "Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Date22 = "Mon, 21 Oct 2013 20:13:22 GMT";
    private const string Location = "https://www.example.com";
    private const string Cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    [Fact]
    public void C21_LiteralWithIndexing_IsAddedToTheTable()
    {
        var decoder = new HpackDecoder();

        var headers = Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");

        Assert.Equal([new("custom-key", "custom-header")], headers);
        AssertDynamicTable(decoder, 55, ("custom-key", "custom-header"));
    }

    [Fact]
    public void C22_LiteralWithoutIndexing_LeavesTheTableEmpty()
    {
        var decoder = new HpackDecoder();

        var headers = Decode(decoder, "040c 2f73 616d 706c 652f 7061 7468");

        Assert.Equal([new(":path", "/sample/path")], headers);
        AssertDynamicTable(decoder, 0);
    }

    [Fact]
    public void C23_LiteralNeverIndexed_IsMarkedAndNotAdded()
    {
        var decoder = new HpackDecoder();

        var headers = Decode(decoder, "1008 7061 7373 776f 7264 0673 6563 7265 74");

        Assert.Equal([new("password", "secret") { NeverIndexed = true }], headers);
        AssertDynamicTable(decoder, 0);
    }

    [Fact]
    public void C24_IndexedField_ComesFromTheStaticTable()
    {
        var decoder = new HpackDecoder();

        var headers = Decode(decoder, "82");

        Assert.Equal([new(":method", "GET")], headers);
        AssertDynamicTable(decoder, 0);
    }

    [Fact]
    public void C3_RequestsWithoutHuffman_ShareTheDynamicTable()
    {
        var decoder = new HpackDecoder();

        Assert.Equal(FirstRequest, Decode(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
        AssertDynamicTable(decoder, 57, (":authority", "www.example.com"));

        Assert.Equal(SecondRequest, Decode(decoder, "8286 84be 5808 6e6f 2d63 6163 6865"));
        AssertDynamicTable(decoder, 110, ("cache-control", "no-cache"), (":authority", "www.example.com"));

        Assert.Equal(ThirdRequest, Decode(decoder, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"));
        AssertDynamicTable(decoder, 164, ("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com"));
    }

    [Fact]
    public void C4_RequestsWithHuffman_ShareTheDynamicTable()
    {
        var decoder = new HpackDecoder();

        Assert.Equal(FirstRequest, Decode(decoder, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        AssertDynamicTable(decoder, 57, (":authority", "www.example.com"));

        Assert.Equal(SecondRequest, Decode(decoder, "8286 84be 5886 a8eb 1064 9cbf"));
        AssertDynamicTable(decoder, 110, ("cache-control", "no-cache"), (":authority", "www.example.com"));

        Assert.Equal(ThirdRequest, Decode(decoder, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"));
        AssertDynamicTable(decoder, 164, ("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com"));
    }

    [Fact]
    public void C5_ResponsesWithoutHuffman_EvictTheOldestEntries()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);

        var first = Decode(decoder, """
            4803 3330 3258 0770 7269 7661 7465 611d
            4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768
            7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d
            """);
        Assert.Equal(FirstResponse, first);
        AssertDynamicTable(decoder, 222, ("location", Location), ("date", Date21), ("cache-control", "private"), (":status", "302"));

        Assert.Equal(SecondResponse, Decode(decoder, "4803 3330 37c1 c0bf"));
        AssertDynamicTable(decoder, 222, (":status", "307"), ("location", Location), ("date", Date21), ("cache-control", "private"));

        var third = Decode(decoder, """
            88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
            3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153
            444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61
            6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31
            """);
        Assert.Equal(ThirdResponse, third);
        AssertDynamicTable(decoder, 215, ("set-cookie", Cookie), ("content-encoding", "gzip"), ("date", Date22));
    }

    [Fact]
    public void C6_ResponsesWithHuffman_EvictTheOldestEntries()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);

        var first = Decode(decoder, """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe
            9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
            e9ae 82ae 43d3
            """);
        Assert.Equal(FirstResponse, first);
        AssertDynamicTable(decoder, 222, ("location", Location), ("date", Date21), ("cache-control", "private"), (":status", "302"));

        Assert.Equal(SecondResponse, Decode(decoder, "4883 640e ffc1 c0bf"));
        AssertDynamicTable(decoder, 222, (":status", "307"), ("location", Location), ("date", Date21), ("cache-control", "private"));

        var third = Decode(decoder, """
            88c1 6196 d07a be94 1054 d444 a820 0595
            040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
            3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07
            """);
        Assert.Equal(ThirdResponse, third);
        AssertDynamicTable(decoder, 215, ("set-cookie", Cookie), ("content-encoding", "gzip"), ("date", Date22));
    }

    private static List<HeaderField> FirstRequest =>
        [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "www.example.com")];

    private static List<HeaderField> SecondRequest =>
        [.. FirstRequest, new("cache-control", "no-cache")];

    private static List<HeaderField> ThirdRequest =>
        [new(":method", "GET"), new(":scheme", "https"), new(":path", "/index.html"), new(":authority", "www.example.com"), new("custom-key", "custom-value")];

    private static List<HeaderField> FirstResponse =>
        [new(":status", "302"), new("cache-control", "private"), new("date", Date21), new("location", Location)];

    private static List<HeaderField> SecondResponse =>
        [new(":status", "307"), new("cache-control", "private"), new("date", Date21), new("location", Location)];

    private static List<HeaderField> ThirdResponse =>
    [
        new(":status", "200"), new("cache-control", "private"), new("date", Date22), new("location", Location),
        new("content-encoding", "gzip"), new("set-cookie", Cookie),
    ];
}
