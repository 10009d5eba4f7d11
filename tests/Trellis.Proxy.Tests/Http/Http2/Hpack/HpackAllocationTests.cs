using System.Buffers;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2.Hpack;

public class HpackAllocationTests
{
    [Fact]
    public void Decode_RepeatedGrpcRequest_AllocatesNothingOnceTheTableHoldsItsFields()
    {
        // What a gRPC client sends: path and authority indexed on the first call, the rest static
        // or well-known, so later calls are table hits and pooled strings.
        var encoder = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode([new(":method", "POST"), new(":scheme", "http"), new("content-type", "application/grpc"), new("te", "trailers")], encoder);
        byte[] indexing = [0x44, 5, .. "/a/Bc"u8, 0x41, 9, .. "host:8080"u8];
        var first = new ReadOnlySequence<byte>([.. encoder.WrittenSpan, .. indexing]);
        var repeat = new ReadOnlySequence<byte>([.. encoder.WrittenSpan, 0xBF, 0xBE]);
        var decoder = new HpackDecoder();
        var headers = new List<HeaderField>(16);
        decoder.Decode(first, headers);
        headers.Clear();
        decoder.Decode(repeat, headers);
        headers.Clear();

        Assert.Equal(0, AllocatedByDecoding(decoder, repeat, headers));
    }

    [Fact]
    public void Decode_RepeatedLiteralsWithoutIndexing_AllocateNothingAfterTheFirst()
    {
        // What a Trellis proxy's stateless encoder sends the next proxy on every call.
        var encoder = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode(
            [new(":method", "POST"), new(":scheme", "http"), new(":path", "/echo.Echo/Unary"), new(":authority", "svc.test:8080"),
             new("content-type", "application/grpc"), new("te", "trailers"), new("x-tenant", "blue")],
            encoder);
        var block = new ReadOnlySequence<byte>(encoder.WrittenMemory);
        var decoder = new HpackDecoder();
        var headers = new List<HeaderField>(16);
        decoder.Decode(block, headers);
        Assert.Equal("svc.test:8080", headers[3].Value);
        Assert.Equal(new HeaderField("x-tenant", "blue"), headers[6]);
        headers.Clear();

        Assert.Equal(0, AllocatedByDecoding(decoder, block, headers));
    }

    /// <summary>Bytes this thread allocates decoding <paramref name="block"/> 100 times.</summary>
    private static long AllocatedByDecoding(HpackDecoder decoder, ReadOnlySequence<byte> block, List<HeaderField> headers)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            decoder.Decode(block, headers);
            headers.Clear();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
