using System.Buffers;
using System.Buffers.Binary;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;
using Trellis.Proxy.Tests.ControlPlane;
using Trellis.Proxy.Tests.Http.Http2.Frames;
using Trellis.Testing;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// Hostile clients against the relay: seeded random scripts of frames, valid and not (stream
/// ids reused, skipped or even; DATA beyond the windows; malformed header blocks and pseudo
/// headers; stray CONTINUATION; bad SETTINGS, PING and PRIORITY sizes; unknown types; garbage
/// bytes), all through one relay and one pool of upstream connections. Whatever a client
/// sends, the relay must end its connection cleanly, account for every request it counted
/// (one response recorded per request, however the stream ended), send only well-formed
/// frames, and go on serving the next client.
/// </summary>
public sealed class Http2RelayRandomFrameTests
{
    private const int Scripts = 60;

    private static readonly HeaderField[] Get =
    [
        new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "svc.test"),
    ];

    private const string CanaryPath = "/canary";

    private static readonly HeaderField[] Canary =
    [
        new(":method", "GET"), new(":scheme", "http"), new(":path", CanaryPath), new(":authority", "svc.test"),
    ];

    private static readonly HeaderField[] Post =
    [
        new(":method", "POST"), new(":scheme", "http"), new(":path", "/upload"), new(":authority", "svc.test"),
        new("content-type", "application/octet-stream"),
    ];

    private static readonly HeaderField[][] MalformedRequests =
    [
        [new(":method", "GET"), new(":scheme", "http"), new(":authority", "svc.test")],
        [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new("Upper", "case")],
        [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new("connection", "keep-alive")],
        [new(":path", "/"), new(":method", "GET"), new("x", "y"), new(":scheme", "http")],
        [new(":method", "CONNECT"), new(":authority", "elsewhere:443")],
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomFrameScripts_EndCleanly_RecordEveryRequest_AndTheRelayServesOn(int seed)
    {
        var random = new Random(seed);
        await using var relay = new Http2RelayHarness();
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => UpstreamsAsync(relay, stop.Token));
        try
        {
            for (var script = 0; script < Scripts; script++)
            {
                var actions = new List<string>();
                var (client, served) = await relay.ConnectStartedAsync();
                await RunScriptAsync(random, client, actions);
                await client.CloseAsync();
                await client.ReadToEndAsync();
                var context = $"seed {seed}, script {script}: {string.Join(", ", actions)}";

                AssertWellFormed(client, context);
                var ended = await Task.WhenAny(served, Task.Delay(TimeSpan.FromSeconds(10)));
                Assert.True(ended == served, $"{context}: the connection did not end");
                Assert.True(served.IsCompletedSuccessfully, $"{context}: {served.Exception}");

                await AssertServesAsync(relay, context);
                await Eventually.TrueAsync(
                    () => MetricsText.Sum(relay.MetricsText, "response_total") == MetricsText.Sum(relay.MetricsText, "request_total"),
                    $"{context}: one response recorded per request ({relay.MetricsText})");
            }
        }
        finally
        {
            await stop.CancelAsync();
        }

        // Beyond the canaries, the scripts' own requests reached the upstream.
        Assert.InRange(MetricsText.Sum(relay.MetricsText, "request_total"), Scripts * 1.5, double.MaxValue);
    }

    /// <summary>
    /// Mostly what a client may do (requests with and without bodies, resets, window updates,
    /// PINGs), with a hostile frame now and then; the first connection error ends the script's
    /// effect, so hostile frames are rare enough that most scripts keep streams in flight.
    /// </summary>
    private static async Task RunScriptAsync(Random random, Http2TestPeer client, List<string> actions)
    {
        var nextStream = 1;
        var opened = new List<int>();
        var withBody = new List<int>();
        var steps = random.Next(1, 16);
        for (var step = 0; step < steps; step++)
        {
            int NewStream()
            {
                var id = nextStream;
                nextStream += 2;
                opened.Add(id);
                return id;
            }

            int AnyStream() => random.Next(6) switch
            {
                0 => 0,
                1 => 2 * random.Next(1, 4),
                2 => nextStream + 2,
                _ => opened.Count > 0 ? opened[random.Next(opened.Count)] : 1,
            };

            var hostile = random.Next(10) == 0;
            var action = hostile ? random.Next(10) : random.Next(6);
            actions.Add(hostile ? $"hostile {action}" : $"{action}");
            if (!hostile)
            {
                switch (action)
                {
                    case 0:
                    case 1:
                        await client.SendHeadersAsync(NewStream(), endStream: true, Get);
                        break;
                    case 2:
                        var post = NewStream();
                        withBody.Add(post);
                        await client.SendHeadersAsync(post, endStream: false, Post);
                        break;
                    case 3 when withBody.Count > 0:
                        var target = withBody[random.Next(withBody.Count)];
                        var end = random.Next(2) == 0;
                        if (end)
                        {
                            withBody.Remove(target);
                        }

                        await client.SendDataAsync(target, new byte[random.Next(0, 2000)], end);
                        break;
                    case 4 when opened.Count > 0:
                        var cancelled = opened[random.Next(opened.Count)];
                        withBody.Remove(cancelled);
                        await client.SendResetAsync(cancelled, Http2ErrorCode.Cancel);
                        break;
                    case 5:
                        await client.SendWindowUpdateAsync(random.Next(2) == 0 || opened.Count == 0 ? 0 : opened[random.Next(opened.Count)], random.Next(1, 100_000));
                        break;
                    default:
                        await client.SendPingAsync((ulong)step);
                        break;
                }

                continue;
            }

            var stream = AnyStream();
            actions[^1] += $"@{stream}";
            switch (action)
            {
                case 0:
                    await client.SendHeadersAsync(stream, endStream: random.Next(2) == 0, MalformedRequests[random.Next(MalformedRequests.Length)]);
                    break;
                case 1:
                    var garbage = new byte[random.Next(1, 12)];
                    random.NextBytes(garbage);
                    await client.SendHeaderBlockAsync(stream, garbage, endStream: true);
                    break;
                case 2:
                    // Beyond the stream's and the connection's windows, or on a stream that ended.
                    await client.SendDataAsync(stream, new byte[random.Next(2) == 0 ? 16_384 : 10], endStream: true);
                    break;
                case 3:
                    int[] increments = [0, int.MaxValue];
                    var increment = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(increment, increments[random.Next(increments.Length)]);
                    await client.SendRawAsync(FrameBytes.Frame(Http2FrameType.WindowUpdate, Http2FrameFlags.None, (uint)stream, increment));
                    break;
                case 4:
                    (ushort, uint)[] settings = [(4, 0), (4, 0x8000_0000), (5, 100), (5, 1 << 20), (2, 2), (3, 0), (1, 0), (0x99, 7)];
                    await client.SendRawAsync(FrameBytes.Frame(Http2FrameType.Settings, Http2FrameFlags.None, 0, FrameBytes.Settings(settings[random.Next(settings.Length)])));
                    break;
                case 5:
                    // PING with a wrong length, or a SETTINGS ACK carrying a payload.
                    await client.SendRawAsync(random.Next(2) == 0
                        ? FrameBytes.Frame(Http2FrameType.Ping, Http2FrameFlags.None, 0, 1, 2, 3)
                        : FrameBytes.Frame(Http2FrameType.Settings, Http2FrameFlags.Ack, 0, 0, 0, 0, 0, 0, 0));
                    break;
                case 6:
                    var priority = new byte[random.Next(2) == 0 ? 5 : 4];
                    BinaryPrimitives.WriteInt32BigEndian(priority, random.Next(2) == 0 ? stream : 0);
                    await client.SendRawAsync(FrameBytes.Frame(Http2FrameType.Priority, Http2FrameFlags.None, (uint)stream, priority));
                    break;
                case 7:
                    // A header block split over CONTINUATION, or a CONTINUATION nobody started.
                    var block = new ArrayBufferWriter<byte>();
                    HpackEncoder.Encode(Get, block);
                    var split = random.Next(1, block.WrittenCount);
                    if (random.Next(3) > 0)
                    {
                        await client.SendRawAsync(FrameBytes.Frame(Http2FrameType.Headers, Http2FrameFlags.EndStream, (uint)stream, block.WrittenSpan[..split].ToArray()));
                    }

                    await client.SendRawAsync(FrameBytes.Frame(Http2FrameType.Continuation, Http2FrameFlags.EndHeaders, (uint)stream, block.WrittenSpan[split..].ToArray()));
                    break;
                case 8:
                    await client.SendRawAsync(random.Next(2) == 0
                        ? FrameBytes.Frame((Http2FrameType)0xBB, Http2FrameFlags.None, (uint)stream, 1, 2, 3)
                        : FrameBytes.Frame(Http2FrameType.GoAway, Http2FrameFlags.None, 0, 0, 0, 0, 0, 0, 0, 0, 0));
                    break;
                default:
                    var bytes = new byte[random.Next(1, 20)];
                    random.NextBytes(bytes);
                    await client.SendRawAsync(bytes);
                    break;
            }
        }
    }

    /// <summary>Only frames a server may send, on the connection or on streams the client opened, with decodable header blocks.</summary>
    private static void AssertWellFormed(Http2TestPeer client, string context)
    {
        foreach (var frame in client.Received)
        {
            Assert.True(frame.StreamId % 2 == 1 || frame.StreamId == 0, $"{context}: {frame.Type} on stream {frame.StreamId}");
            Assert.True(frame.Type is not (Http2FrameType.PushPromise or Http2FrameType.Continuation), $"{context}: {frame.Type}");
            if (frame.Type == Http2FrameType.Headers)
            {
                Assert.True(frame.Header.HasFlag(Http2FrameFlags.EndHeaders), $"{context}: a response header block over CONTINUATION");
                Assert.NotNull(Http2TestPeer.Value(client.Decode(frame), ":status"));
            }
        }
    }

    /// <summary>A well-behaved client on a new connection still gets its response.</summary>
    private static async Task AssertServesAsync(Http2RelayHarness relay, string context)
    {
        var (client, served) = await relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Canary);
        var response = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.True(Http2TestPeer.Value(client.Decode(response), ":status") == "200", $"{context}: the next client got {Http2TestPeer.Value(client.Decode(response), ":status")}");
        await client.CloseAsync();
        await client.ReadToEndAsync();
        await served;
    }

    /// <summary>Every upstream connection the relay dials: answers each request with 200 "ok", acknowledges PINGs and SETTINGS, returns DATA credit.</summary>
    private static async Task UpstreamsAsync(Http2RelayHarness relay, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var raw = await relay.Connector.AcceptAsync();
                _ = Task.Run(() => ServeUpstreamAsync(new Http2TestPeer(raw.Pipe), stop), CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                // AcceptAsync's own bound: look again unless the test is over.
            }
        }
    }

    private static async Task ServeUpstreamAsync(Http2TestPeer upstream, CancellationToken stop)
    {
        var answered = new HashSet<int>();
        try
        {
            await upstream.AcceptClientAsync();
            while (!stop.IsCancellationRequested)
            {
                Http2TestFrame? frame;
                try
                {
                    frame = await upstream.ReadFrameAsync();
                }
                catch (OperationCanceledException)
                {
                    continue;
                }

                if (frame is null)
                {
                    return;
                }

                switch (frame.Type)
                {
                    case Http2FrameType.Headers when answered.Add(frame.StreamId):
                        // Most requests are answered at once; some are refused, some get their
                        // headers and then nothing, so exchanges are in flight when a client misbehaves.
                        var canary = Http2TestPeer.Value(upstream.Decode(frame), ":path") == CanaryPath;
                        var behaviour = canary ? 0 : (frame.StreamId / 2) % 5;
                        if (behaviour == 3)
                        {
                            await upstream.SendResetAsync(frame.StreamId, Http2ErrorCode.RefusedStream);
                            break;
                        }

                        await upstream.SendHeadersAsync(frame.StreamId, endStream: false, new HeaderField(":status", "200"));
                        if (behaviour != 4)
                        {
                            await upstream.SendDataAsync(frame.StreamId, "ok"u8.ToArray(), endStream: true);
                        }

                        break;
                    case Http2FrameType.Data when frame.Payload.Length > 0:
                        await upstream.SendWindowUpdateAsync(0, frame.Payload.Length);
                        break;
                    case Http2FrameType.Ping when !frame.Header.HasFlag(Http2FrameFlags.Ack):
                        await upstream.SendPingAckAsync(Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(frame.Payload)));
                        break;
                    default:
                        break;
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // The relay closed its upstream connections at the end of the test.
        }
    }
}
