using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

public class HpackStaticTableTests
{
    [Theory]
    [InlineData(1, ":authority", "")]
    [InlineData(8, ":status", "200")]
    [InlineData(16, "accept-encoding", "gzip, deflate")]
    [InlineData(31, "content-type", "")]
    [InlineData(58, "user-agent", "")]
    [InlineData(59, "vary", "")]
    [InlineData(61, "www-authenticate", "")]
    public void Get_Index_ReturnsTheRfcEntry(int index, string name, string value)
    {
        Assert.Equal(new HeaderField(name, value), HpackStaticTable.Get(index));
    }

    [Theory]
    [InlineData(":method", "POST", 3, 2)]
    [InlineData(":status", "500", 14, 8)]
    [InlineData(":status", "201", 0, 8)]
    [InlineData("content-type", "application/grpc", 0, 31)]
    [InlineData("te", "trailers", 0, 0)]
    public void Find_NameAndValue_ReturnsFieldAndFirstNameIndex(string name, string value, int fieldIndex, int nameIndex)
    {
        Assert.Equal((fieldIndex, nameIndex), HpackStaticTable.Find(name, value));
    }
}
