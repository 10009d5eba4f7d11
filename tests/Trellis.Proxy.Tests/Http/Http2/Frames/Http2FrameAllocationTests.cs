using System.Buffers;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Tests.Http.Http2.Frames;

public class Http2FrameAllocationTests
{
    [Fact]
    public void WriteAndReadFrames_AllocateNothing()
    {
        var output = new ArrayBufferWriter<byte>(1 << 16);
        var data = new ReadOnlySequence<byte>(new byte[20_000]);
        byte[] block = [0x82, 0x86, 0x84];
        Assert.Equal(20_000 + 20_000 + 42 + 3, WriteAndRead(output, data, block));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            WriteAndRead(output, data, block);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // Returns the sum of what it read, so the test can check it outside the measured loop.
    private static long WriteAndRead(ArrayBufferWriter<byte> output, ReadOnlySequence<byte> data, byte[] block)
    {
        output.ResetWrittenCount();
        Http2FrameWriter.WriteHeaders(output, 1, block, endStream: false, 16384);
        Http2FrameWriter.WriteData(output, 1, data, endStream: true, 16384);
        Http2FrameWriter.WriteWindowUpdate(output, 0, 20_000);
        Http2FrameWriter.WritePing(output, ack: true, 42);

        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        var sum = 0L;
        while (Http2FrameReader.TryReadFrame(ref buffer, 16384, out var header, out var payload))
        {
            switch (header.Type)
            {
                case Http2FrameType.Headers:
                    sum += Http2FrameReader.HeaderBlockFragment(header, payload).Length;
                    break;
                case Http2FrameType.WindowUpdate:
                    sum += Http2FrameReader.ReadWindowIncrement(payload);
                    break;
                case Http2FrameType.Ping:
                    sum += (long)Http2FrameReader.ReadPing(payload);
                    break;
                default:
                    sum += Http2FrameReader.DataPayload(header, payload).Length;
                    break;
            }
        }

        return sum;
    }
}
