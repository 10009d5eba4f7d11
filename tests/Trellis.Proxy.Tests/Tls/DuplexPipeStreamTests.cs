using System.IO.Pipelines;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Tls;

/// <summary>The ciphertext stream under SslStream: reads stop at TLS record ends, and the record wait consumes nothing.</summary>
public sealed class DuplexPipeStreamTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly Pipe _input = new();
    private readonly Pipe _output = new();
    private readonly DuplexPipeStream _stream;

    public DuplexPipeStreamTests() => _stream = new DuplexPipeStream(new DuplexPipe(_input.Reader, _output.Writer));

    [Fact]
    public async Task ReadAsync_TwoRecordsBuffered_ReturnsOnlyTheFirst()
    {
        await _input.Writer.WriteAsync(Concat(Record(10, 0xA), Record(20, 0xB)));
        var destination = new byte[100];

        var first = await _stream.ReadAsync(destination);
        var second = await _stream.ReadAsync(destination);

        Assert.Equal(15, first);
        Assert.Equal(25, second);
        Assert.Equal(Record(20, 0xB), destination[..25]);
    }

    [Fact]
    public async Task ReadAsync_SmallDestination_ContinuesTheRecordThenStopsAtItsEnd()
    {
        await _input.Writer.WriteAsync(Concat(Record(10, 0xA), Record(3, 0xB)));
        var destination = new byte[8];

        Assert.Equal(8, await _stream.ReadAsync(destination));
        Assert.Equal(7, await _stream.ReadAsync(destination));
        Assert.Equal(8, await _stream.ReadAsync(destination));
    }

    [Fact]
    public async Task ReadAsync_PartialHeader_WaitsForTheWholeHeader()
    {
        var record = Record(4, 0xC);
        await _input.Writer.WriteAsync(record.AsMemory(0, 3));
        var destination = new byte[100];

        var read = _stream.ReadAsync(destination).AsTask();
        await Task.Delay(50);
        Assert.False(read.IsCompleted);

        await _input.Writer.WriteAsync(record.AsMemory(3));
        Assert.Equal(record.Length, await read.WaitAsync(Bound));
        Assert.Equal(record, destination[..record.Length]);
    }

    [Fact]
    public async Task ReadAsync_EndInsideAHeader_ReturnsWhatThereIsThenEnd()
    {
        await _input.Writer.WriteAsync(new byte[] { 23, 3 });
        await _input.Writer.CompleteAsync();
        var destination = new byte[100];

        Assert.Equal(2, await _stream.ReadAsync(destination).AsTask().WaitAsync(Bound));
        Assert.Equal(0, await _stream.ReadAsync(destination).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task ReadAsync_LengthBeyondTls_IsCappedSoTheBytesStillFlow()
    {
        // A header announcing 65,535 bytes: more than any TLS record and than the socket pipe holds.
        var header = new byte[] { 23, 3, 3, 0xFF, 0xFF };
        await _input.Writer.WriteAsync(Concat(header, new byte[20_000]));
        var destination = new byte[40_000];

        Assert.Equal(5 + (1 << 14) + 2048, await _stream.ReadAsync(destination).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task WaitForRecordAsync_ReadyOnlyOnceTheRecordIsWhole_AndConsumesNothing()
    {
        var record = Record(100, 0xD);
        await _input.Writer.WriteAsync(record.AsMemory(0, 50));

        var wait = _stream.WaitForRecordAsync().AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);

        await _input.Writer.WriteAsync(record.AsMemory(50));
        Assert.Equal(RecordWait.Ready, await wait.WaitAsync(Bound));
        var destination = new byte[200];
        Assert.Equal(record.Length, await _stream.ReadAsync(destination));
        Assert.Equal(record, destination[..record.Length]);
    }

    [Fact]
    public async Task WaitForRecordAsync_InsideARecord_WaitsForItsRestOnly()
    {
        var record = Record(30, 0xE);
        await _input.Writer.WriteAsync(record);
        Assert.Equal(10, await _stream.ReadAsync(new byte[10]));

        Assert.Equal(RecordWait.Ready, await _stream.WaitForRecordAsync().AsTask().WaitAsync(Bound));
        Assert.Equal(25, await _stream.ReadAsync(new byte[100]));
    }

    [Fact]
    public async Task WaitForRecordAsync_ConnectionEnds_ReportsEnded()
    {
        await _input.Writer.WriteAsync(new byte[] { 23, 3, 3, 0, 9, 1 });
        await _input.Writer.CompleteAsync();

        Assert.Equal(RecordWait.Ended, await _stream.WaitForRecordAsync().AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task WaitForRecordAsync_Cancelled_ReportsCanceled()
    {
        var wait = _stream.WaitForRecordAsync().AsTask();

        _stream.CancelPendingRead();

        Assert.Equal(RecordWait.Canceled, await wait.WaitAsync(Bound));
    }

    /// <summary>A TLS application-data record: 5-byte header and <paramref name="length"/> bytes of <paramref name="fill"/>.</summary>
    private static byte[] Record(int length, byte fill)
    {
        var record = new byte[5 + length];
        record[0] = 23;
        record[1] = 3;
        record[2] = 3;
        record[3] = (byte)(length >> 8);
        record[4] = (byte)length;
        record.AsSpan(5).Fill(fill);
        return record;
    }

    private static byte[] Concat(byte[] first, byte[] second) => [.. first, .. second];
}
