using System.Buffers;
using System.IO.Pipelines;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>One frame as a test peer read it.</summary>
internal sealed record Http2TestFrame(Http2FrameHeader Header, byte[] Payload)
{
    public Http2FrameType Type => Header.Type;

    public int StreamId => Header.StreamId;

    public bool EndStream => Header.HasFlag(Http2FrameFlags.EndStream);
}

/// <summary>
/// The far end of an in-memory HTTP/2 connection, speaking raw frames through the codec: a
/// client of the relay, or a scripted upstream server. Reads give up after a bound, so a broken
/// relay fails the test instead of hanging it.
/// </summary>
internal sealed class Http2TestPeer
{
    private static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(10);

    private readonly IDuplexPipe _pipe;
    private readonly HpackDecoder _decoder = new();
    private ulong _nextPing = 1;

    public Http2TestPeer(IDuplexPipe pipe)
    {
        _pipe = pipe;
    }

    /// <summary>The peer's end of the connection, for tests that drive frames without this class's per-frame allocations.</summary>
    public IDuplexPipe Pipe => _pipe;

    /// <summary>Every frame read so far, in order.</summary>
    public List<Http2TestFrame> Received { get; } = [];

    /// <summary>As a client: the preface, then SETTINGS.</summary>
    public Task StartClientAsync(params (Http2SettingId, uint)[] settings)
    {
        _pipe.Output.Write(Http2FrameWriter.ClientPreface);
        Http2FrameWriter.WriteSettings(_pipe.Output, settings);
        return FlushAsync();
    }

    /// <summary>As a server: reads the client preface and SETTINGS, answers with SETTINGS and an ACK.</summary>
    public async Task AcceptClientAsync(params (Http2SettingId, uint)[] settings)
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        var preface = Http2FrameWriter.ClientPreface.Length;
        while (true)
        {
            var result = await _pipe.Input.ReadAsync(timeout.Token);
            if (result.Buffer.Length >= preface)
            {
                Assert.Equal(Http2FrameWriter.ClientPreface.ToArray(), result.Buffer.Slice(0, preface).ToArray());
                _pipe.Input.AdvanceTo(result.Buffer.GetPosition(preface));
                break;
            }

            Assert.False(result.IsCompleted, "the relay closed before sending its preface");
            _pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        Assert.Equal(Http2FrameType.Settings, (await ReadFrameAsync())!.Type);
        Http2FrameWriter.WriteSettings(_pipe.Output, settings);
        Http2FrameWriter.WriteSettingsAck(_pipe.Output);
        await FlushAsync();
    }

    public Task SendHeadersAsync(int streamId, bool endStream, params HeaderField[] fields)
    {
        var block = new ArrayBufferWriter<byte>();
        HpackEncoder.Encode(fields, block);
        Http2FrameWriter.WriteHeaders(_pipe.Output, streamId, block.WrittenSpan, endStream, Http2FrameWriter.DefaultMaxFrameSize);
        return FlushAsync();
    }

    /// <summary>A HEADERS frame carrying <paramref name="block"/> as is (for malformed blocks).</summary>
    public Task SendHeaderBlockAsync(int streamId, byte[] block, bool endStream)
    {
        Http2FrameWriter.WriteHeaders(_pipe.Output, streamId, block, endStream, Http2FrameWriter.DefaultMaxFrameSize);
        return FlushAsync();
    }

    public Task SendDataAsync(int streamId, byte[] data, bool endStream)
    {
        Http2FrameWriter.WriteData(_pipe.Output, streamId, new ReadOnlySequence<byte>(data), endStream, Http2FrameWriter.DefaultMaxFrameSize);
        return FlushAsync();
    }

    public Task SendResetAsync(int streamId, Http2ErrorCode code)
    {
        Http2FrameWriter.WriteRstStream(_pipe.Output, streamId, code);
        return FlushAsync();
    }

    public Task SendWindowUpdateAsync(int streamId, int increment)
    {
        Http2FrameWriter.WriteWindowUpdate(_pipe.Output, streamId, increment);
        return FlushAsync();
    }

    public Task SendGoAwayAsync(int lastStreamId, Http2ErrorCode code)
    {
        Http2FrameWriter.WriteGoAway(_pipe.Output, lastStreamId, code);
        return FlushAsync();
    }

    public Task SendPingAsync(ulong opaque)
    {
        Http2FrameWriter.WritePing(_pipe.Output, ack: false, opaque);
        return FlushAsync();
    }

    public Task SendPingAckAsync(ulong opaque)
    {
        Http2FrameWriter.WritePing(_pipe.Output, ack: true, opaque);
        return FlushAsync();
    }

    /// <summary>Ends this side's output, as a peer closing its connection.</summary>
    public async Task CloseAsync() => await _pipe.Output.CompleteAsync();

    public async Task SendRawAsync(byte[] bytes)
    {
        await _pipe.Output.WriteAsync(bytes);
    }

    /// <summary>
    /// A barrier: sends a PING and reads up to its ACK. The relay handles a connection's frames
    /// in order and writes what they cause before it answers a later PING, so everything it did
    /// about earlier frames is in <see cref="Received"/> when this returns.
    /// </summary>
    public async Task SyncAsync()
    {
        var opaque = _nextPing++;
        await SendPingAsync(opaque);
        await ReadUntilAsync(f => f.Type == Http2FrameType.Ping && f.Header.HasFlag(Http2FrameFlags.Ack) &&
            Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(f.Payload)) == opaque);
    }

    /// <summary>Reads frames until one matches; the ones before it stay in <see cref="Received"/>.</summary>
    public async Task<Http2TestFrame> ReadUntilAsync(Func<Http2TestFrame, bool> match)
    {
        while (true)
        {
            var frame = await ReadFrameAsync() ?? throw new InvalidOperationException("the connection ended before the expected frame");
            if (match(frame))
            {
                return frame;
            }
        }
    }

    public Task<Http2TestFrame> ReadUntilAsync(Http2FrameType type, int streamId) =>
        ReadUntilAsync(f => f.Type == type && f.StreamId == streamId);

    /// <summary>The next frame, or null when the relay closed the connection.</summary>
    public async Task<Http2TestFrame?> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        while (true)
        {
            var result = await _pipe.Input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (Http2FrameReader.TryReadFrame(ref buffer, Http2FrameWriter.MaxAllowedFrameSize, out var header, out var payload))
            {
                var frame = new Http2TestFrame(header, payload.ToArray());
                _pipe.Input.AdvanceTo(buffer.Start);
                Received.Add(frame);
                return frame;
            }

            _pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>Waits until at least <paramref name="bytes"/> are buffered unread, consuming nothing.</summary>
    public async Task WaitForUnreadAsync(long bytes)
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        while (true)
        {
            var result = await _pipe.Input.ReadAsync(timeout.Token);
            var buffered = result.Buffer.Length;
            _pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (buffered >= bytes)
            {
                return;
            }

            Assert.False(result.IsCompleted, "the connection ended first");
        }
    }

    /// <summary>Reads until the relay closes the connection; the frames read stay in <see cref="Received"/>.</summary>
    public async Task ReadToEndAsync()
    {
        while (await ReadFrameAsync() is not null)
        {
        }
    }

    /// <summary>Decodes a HEADERS frame's block (with this connection's HPACK state).</summary>
    public List<HeaderField> Decode(Http2TestFrame frame)
    {
        var fields = new List<HeaderField>();
        _decoder.Decode(Http2FrameReader.HeaderBlockFragment(frame.Header, new ReadOnlySequence<byte>(frame.Payload)), fields);
        return fields;
    }

    public static string? Value(List<HeaderField> fields, string name)
    {
        foreach (var field in fields)
        {
            if (field.Name == name)
            {
                return field.Value;
            }
        }

        return null;
    }

    private async Task FlushAsync()
    {
        await _pipe.Output.FlushAsync();
    }
}
