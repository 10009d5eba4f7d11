using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Multiplexing;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Tests.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Multiplexing;

/// <summary>A client and a server <see cref="MultiplexedConnection"/> over in-memory pipes, and raw frames against a server.</summary>
public sealed class MultiplexedConnectionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Tunnels_CarryBytesBothWaysAndEndWithAHalfClose()
    {
        var (client, server, _) = Start(EchoAsync);

        var tunnels = new List<Task<byte[]>>();
        for (var i = 0; i < 10; i++)
        {
            var payload = System.Text.Encoding.ASCII.GetBytes($"tunnel {i}: " + new string('x', i * 1000));
            tunnels.Add(RoundTripAsync(client, payload));
        }

        var echoed = await Task.WhenAll(tunnels).WaitAsync(Bound);

        for (var i = 0; i < 10; i++)
        {
            Assert.StartsWith($"tunnel {i}: ", System.Text.Encoding.ASCII.GetString(echoed[i]));
            Assert.Equal(10 + (i * 1000), echoed[i].Length);
        }

        await WaitForAsync(() => client.StreamCount == 0 && server.StreamCount == 0);
    }

    [Fact]
    public async Task Tunnel_LargerThanItsWindow_CrossesIntact()
    {
        var (client, _, _) = Start(EchoAsync);
        var payload = new byte[(4 * MultiplexedConnection.StreamWindow) + 12345];
        new Random(3).NextBytes(payload);

        var echoed = await RoundTripAsync(client, payload).WaitAsync(Bound);

        Assert.True(payload.AsSpan().SequenceEqual(echoed), "the echoed bytes differ from those sent");
    }

    /// <summary>A reader that does not read holds the writer at the stream's window, and only that stream.</summary>
    [Fact]
    public async Task Tunnel_ReaderNotReading_WriterWaitsAtTheWindowAndOtherTunnelsFlow()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = 1;
        var (client, _, _) = Start(async stream =>
        {
            if (Interlocked.Exchange(ref first, 0) == 1)
            {
                // Looks at everything that arrives and consumes nothing until released.
                var input = stream.Transport.Input;
                while (true)
                {
                    var result = await input.ReadAsync();
                    if (result.Buffer.Length >= MultiplexedConnection.StreamWindow)
                    {
                        held.TrySetResult((int)result.Buffer.Length);
                        await release.Task;
                        foreach (var segment in result.Buffer)
                        {
                            stream.Transport.Output.Write(segment.Span);
                        }

                        input.AdvanceTo(result.Buffer.End);
                        break;
                    }

                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }
            }

            await EchoAsync(stream);
        });
        var stalled = (await client.OpenStreamAsync("test"))!;
        var payload = new byte[MultiplexedConnection.StreamWindow * 2];

        var writing = stalled.Transport.Output.WriteAsync(payload).AsTask();
        var buffered = await held.Task.WaitAsync(Bound);
        var other = await RoundTripAsync(client, "still flowing"u8.ToArray()).WaitAsync(Bound);

        Assert.Equal(MultiplexedConnection.StreamWindow, buffered);
        Assert.False(writing.IsCompleted, "the write finished though the reader took nothing past the window");
        Assert.Equal("still flowing"u8.ToArray(), other);
        release.SetResult();
        await writing.WaitAsync(Bound);
        await stalled.Transport.Output.CompleteAsync();
        Assert.Equal(payload.Length, (await ReadToEndAsync(stalled.Transport.Input)).Length);
    }

    [Fact]
    public async Task Abort_ResetsTheTunnel_PeerSeesItClosed()
    {
        var peerClosed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (client, server, _) = Start(async stream =>
        {
            try
            {
                await ReadToEndAsync(stream.Transport.Input);
                peerClosed.SetResult(null);
            }
            catch (Exception e)
            {
                peerClosed.SetResult(e);
            }
        });
        var tunnel = (await client.OpenStreamAsync("test"))!;
        await tunnel.Transport.Output.WriteAsync("partial"u8.ToArray());

        tunnel.Abort(new ConnectionAbortedException("test"));

        var error = await peerClosed.Task.WaitAsync(Bound);
        Assert.IsType<ConnectionResetException>(error);
        Assert.True(tunnel.ConnectionClosed.IsCancellationRequested);
        await WaitForAsync(() => client.StreamCount == 0 && server.StreamCount == 0);
    }

    [Fact]
    public async Task ConnectionLost_OpenTunnelsFailBothWays()
    {
        var (client, _, serverContext) = Start(_ => Task.Delay(Timeout.Infinite));
        var tunnel = (await client.OpenStreamAsync("test"))!;
        await tunnel.Transport.Output.WriteAsync("request"u8.ToArray());

        // The peer's socket goes away under the connection.
        await serverContext.Transport.Output.CompleteAsync();

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => ReadToEndAsync(tunnel.Transport.Input));
        var flush = await tunnel.Transport.Output.WriteAsync("more"u8.ToArray()).AsTask().WaitAsync(Bound);
        Assert.True(flush.IsCompleted);
        Assert.True(tunnel.ConnectionClosed.IsCancellationRequested);
        await client.Running.WaitAsync(Bound);
        Assert.Null(await client.OpenStreamAsync("test"));
    }

    [Fact]
    public async Task OutputBreaks_TheConnectionEndsOnceWithItsTunnels()
    {
        var (clientContext, serverContext) = PipePair.CreateContexts();
        var output = new BreakingPipeWriter(clientContext.Transport.Output);
        clientContext.Transport = new DuplexPipe(clientContext.Transport.Input, output);
        var server = MultiplexedConnection.StartServer(serverContext, EchoAsync);
        var client = MultiplexedConnection.StartClient(clientContext, TimeProvider.System, TimeSpan.FromMinutes(5));
        var tunnel = (await client.OpenStreamAsync("test"))!;
        await tunnel.Transport.Output.WriteAsync("before"u8.ToArray());
        Assert.Equal("before"u8.ToArray(), await ReadExactlyAsync(tunnel.Transport.Input, 6));

        // The socket breaks under the next write.
        output.Broken = true;
        var flush = await tunnel.Transport.Output.WriteAsync("after"u8.ToArray()).AsTask().WaitAsync(Bound);

        Assert.True(flush.IsCompleted);
        await client.Running.WaitAsync(Bound);
        Assert.True(tunnel.ConnectionClosed.IsCancellationRequested);
        await Assert.ThrowsAsync<ConnectionAbortedException>(() => ReadToEndAsync(tunnel.Transport.Input));
        Assert.Null(await client.OpenStreamAsync("test"));
        Assert.Equal(1, output.FailedFlushes);
        await serverContext.Transport.Output.CompleteAsync();
        await server.Running.WaitAsync(Bound);
    }

    [Fact]
    public async Task GoAway_OpenTunnelsFinish_NewOnesGoElsewhere_ThenTheConnectionEnds()
    {
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (client, server, _) = Start(stream =>
        {
            accepted.SetResult();
            return EchoAsync(stream);
        });
        var open = (await client.OpenStreamAsync("test"))!;
        await open.Transport.Output.WriteAsync("before"u8.ToArray());
        await accepted.Task.WaitAsync(Bound);

        server.GoAway();

        await WaitForAsync(() => !client.Accepting);
        Assert.Null(await client.OpenStreamAsync("test"));
        await open.Transport.Output.WriteAsync(", after"u8.ToArray());
        await open.Transport.Output.CompleteAsync();
        Assert.Equal("before, after"u8.ToArray(), await ReadToEndAsync(open.Transport.Input));
        await open.DisposeAsync();
        await Task.WhenAll(client.Running, server.Running).WaitAsync(Bound);
    }

    [Fact]
    public async Task Server_DataOnAStreamNeverOpened_EndsTheConnectionWithGoAway()
    {
        var (raw, server) = StartRawClient(_ => throw new InvalidOperationException("no stream may be accepted"));

        WriteFrame(raw.Transport.Output, type: 0, flags: 0, streamId: 1, []);
        await raw.Transport.Output.FlushAsync();

        var frames = await ReadFramesToEndAsync(raw.Transport.Input);
        var goAway = Assert.Single(frames, frame => frame.Type == 7);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4))); // PROTOCOL_ERROR
        await server.Running.WaitAsync(Bound);
    }

    [Fact]
    public async Task Server_WithoutTheClientPreface_EndsTheConnectionWithGoAway()
    {
        var (clientContext, serverContext) = PipePair.CreateContexts();
        var server = MultiplexedConnection.StartServer(serverContext, _ => throw new InvalidOperationException("no stream may be accepted"));

        await clientContext.Transport.Output.WriteAsync("GET / HTTP/1.1\r\nHost: tunnel\r\n\r\n"u8.ToArray());

        var frames = await ReadFramesToEndAsync(clientContext.Transport.Input);
        var goAway = Assert.Single(frames, frame => frame.Type == 7);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4))); // PROTOCOL_ERROR
        await server.Running.WaitAsync(Bound);
    }

    [Fact]
    public async Task Server_StreamThatIsNotAConnect_IsResetAndTheConnectionLives()
    {
        var (raw, server) = StartRawClient(_ => throw new InvalidOperationException("no stream may be accepted"));

        // HEADERS, END_HEADERS: ":method: GET" (static table index 2).
        WriteFrame(raw.Transport.Output, type: 1, flags: 4, streamId: 1, [0x82]);
        WriteFrame(raw.Transport.Output, type: 6, flags: 0, streamId: 0, new byte[8]); // PING
        await raw.Transport.Output.FlushAsync();
        var frames = new List<(int Type, int Flags, int StreamId, byte[] Payload)>();
        while (!frames.Exists(frame => frame.Type == 6))
        {
            frames.AddRange(await ReadFramesAsync(raw.Transport.Input));
        }

        var reset = Assert.Single(frames, frame => frame.Type == 3);
        Assert.Equal(1, reset.StreamId);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(reset.Payload)); // PROTOCOL_ERROR
        Assert.Contains(frames, frame => frame is { Type: 6, Flags: 1 });
        Assert.False(server.Running.IsCompleted);
        await raw.Transport.Output.CompleteAsync();
        await server.Running.WaitAsync(Bound);
    }

    private static (MultiplexedConnection Client, MultiplexedConnection Server, ConnectionContext ServerContext) Start(Func<MultiplexedStream, Task> handler)
    {
        var (clientContext, serverContext) = PipePair.CreateContexts();
        var server = MultiplexedConnection.StartServer(serverContext, handler);
        var client = MultiplexedConnection.StartClient(clientContext, TimeProvider.System, TimeSpan.FromMinutes(5));
        return (client, server, serverContext);
    }

    private static (ConnectionContext Raw, MultiplexedConnection Server) StartRawClient(Func<MultiplexedStream, Task> handler)
    {
        var (clientContext, serverContext) = PipePair.CreateContexts();
        var server = MultiplexedConnection.StartServer(serverContext, handler);
        clientContext.Transport.Output.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(clientContext.Transport.Output, type: 4, flags: 0, streamId: 0, []);
        return (clientContext, server);
    }

    private static async Task EchoAsync(MultiplexedStream stream) =>
        await PipeCopy.OneWayAsync(stream.Transport.Input, stream.Transport.Output, CancellationToken.None);

    private static async Task<byte[]> RoundTripAsync(MultiplexedConnection client, byte[] payload)
    {
        var tunnel = await client.OpenStreamAsync("test") ?? throw new InvalidOperationException("no tunnel");
        var reading = ReadToEndAsync(tunnel.Transport.Input);
        await tunnel.Transport.Output.WriteAsync(payload);
        await tunnel.Transport.Output.CompleteAsync();
        var echoed = await reading;
        await tunnel.DisposeAsync();
        return echoed;
    }

    private static async Task<byte[]> ReadExactlyAsync(PipeReader reader, int count)
    {
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(Bound);
            if (result.Buffer.Length >= count)
            {
                var bytes = result.Buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            Assert.False(result.IsCompleted, "the tunnel ended early");
        }
    }

    /// <summary>Consumes as it reads: a tunnel's sender waits for the window a reader frees by consuming.</summary>
    private static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(Bound);
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return received.WrittenSpan.ToArray();
            }
        }
    }

    private static void WriteFrame(PipeWriter output, byte type, byte flags, int streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId);
        output.Write(header);
        output.Write(payload);
    }

    private static async Task<List<(int Type, int Flags, int StreamId, byte[] Payload)>> ReadFramesAsync(PipeReader input)
    {
        var result = await input.ReadAsync().AsTask().WaitAsync(Bound);
        var frames = Parse(result.Buffer, out var consumed);
        input.AdvanceTo(consumed, result.Buffer.End);
        return frames;
    }

    private static async Task<List<(int Type, int Flags, int StreamId, byte[] Payload)>> ReadFramesToEndAsync(PipeReader input)
    {
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Bound);
            if (result.IsCompleted)
            {
                return Parse(result.Buffer, out _);
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static List<(int Type, int Flags, int StreamId, byte[] Payload)> Parse(ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var bytes = buffer.ToArray();
        var frames = new List<(int, int, int, byte[])>();
        var offset = 0;
        while (bytes.Length - offset >= 9)
        {
            var length = (bytes[offset] << 16) | (bytes[offset + 1] << 8) | bytes[offset + 2];
            if (bytes.Length - offset - 9 < length)
            {
                break;
            }

            var streamId = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset + 5)) & 0x7FFF_FFFF;
            frames.Add((bytes[offset + 3], bytes[offset + 4], streamId, bytes.AsSpan(offset + 9, length).ToArray()));
            offset += 9 + length;
        }

        consumed = buffer.GetPosition(offset);
        return frames;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>A transport whose flushes fail once broken, as a socket reset under a write.</summary>
    private sealed class BreakingPipeWriter(PipeWriter inner) : PipeWriter
    {
        private int _failedFlushes;

        public bool Broken { get; set; }

        public int FailedFlushes => Volatile.Read(ref _failedFlushes);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (Broken)
            {
                Interlocked.Increment(ref _failedFlushes);
                throw new IOException("Connection reset by peer");
            }

            return inner.FlushAsync(cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
