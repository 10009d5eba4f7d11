using System.Buffers;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

public class HpackEncoderTests
{
    [Fact]
    public void Encode_MethodGet_IsTheSingleIndexedByte()
    {
        Assert.Equal(new byte[] { 0x82 }, Encode([new(":method", "GET")]));
    }

    [Fact]
    public void Encode_StaticNameOnly_IsLiteralWithoutIndexingAndIndexedName()
    {
        // content-type is static entry 31: 0000 1111 then 31 - 15 = 16.
        byte[] expected = [0x0F, 0x10, 16, .. "application/grpc"u8];

        Assert.Equal(expected, Encode([new("content-type", "application/grpc")]));
    }

    [Fact]
    public void Encode_UnknownName_IsLiteralWithoutIndexingAndLiteralName()
    {
        byte[] expected = [0x00, 2, .. "te"u8, 8, .. "trailers"u8];

        Assert.Equal(expected, Encode([new("te", "trailers")]));
    }

    [Fact]
    public void Encode_GrpcRequest_RoundTripsWithoutTouchingTheDynamicTable()
    {
        List<HeaderField> request =
        [
            new(":method", "POST"),
            new(":scheme", "http"),
            new(":path", "/trellis.test.Echo/Say"),
            new(":authority", "echo.default.svc.cluster.local:8080"),
            new("content-type", "application/grpc"),
            new("te", "trailers"),
            new("user-agent", "grpc-dotnet/2.67.0 (.NET 10.0.0; CLR 10.0.0; net10.0; linux; x64)"),
            new("grpc-timeout", "100m"),
        ];

        AssertRoundTrip(request);
    }

    [Fact]
    public void Encode_GrpcResponseAndTrailers_RoundTrip()
    {
        AssertRoundTrip([new(":status", "200"), new("content-type", "application/grpc"), new("date", "Wed, 25 Nov 2026 07:40:00 GMT")]);
        AssertRoundTrip([new("grpc-status", "0"), new("grpc-message", "")]);
        AssertRoundTrip([new(":status", "404"), new("grpc-status", "12"), new("grpc-message", "Method not found: trellis.test.Echo/Missing")]);
    }

    [Fact]
    public void Encode_LongAndLatin1Values_RoundTrip()
    {
        AssertRoundTrip([new("x-long", new string('v', 5000)), new(new string('n', 200), "\u00e9\u00ff\u0001")]);
    }

    [Fact]
    public void Encode_NeverIndexedField_KeepsTheNeverIndexedRepresentation()
    {
        var field = new HeaderField(":method", "GET") { NeverIndexed = true };

        var block = Encode([field]);

        Assert.Equal(0x12, block[0]); // never indexed (0001) with name index 2
        AssertRoundTrip([field, new("authorization", "Bearer x") { NeverIndexed = true }]);
    }

    private static void AssertRoundTrip(List<HeaderField> headers)
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 1 << 20);
        var decoded = new List<HeaderField>();

        decoder.Decode(new ReadOnlySequence<byte>(Encode(headers)), decoded);

        Assert.Equal(headers, decoded);
        Assert.Equal(0, decoder.DynamicTableCount);
    }

    private static byte[] Encode(List<HeaderField> headers)
    {
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode(headers, output);
        return output.WrittenSpan.ToArray();
    }
}
