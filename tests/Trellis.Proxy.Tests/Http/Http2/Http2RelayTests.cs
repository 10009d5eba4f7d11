using System.Buffers;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Http.Http2.Frames;
using Trellis.Proxy.Http.Http2.Hpack;
using Trellis.Proxy.Tests.ControlPlane;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// The relay frame by frame, over in-memory pipes: raw HTTP/2 clients and scripted upstreams.
/// Where a test asserts that something did not happen, a PING round trip
/// (<see cref="Http2TestPeer.SyncAsync"/>) orders it instead of a timer.
/// </summary>
public sealed class Http2RelayTests : IAsyncLifetime
{
    private static readonly HeaderField[] Get =
    [
        new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "svc.test"),
    ];

    private static readonly HeaderField[] GrpcPost =
    [
        new(":method", "POST"), new(":scheme", "http"), new(":path", "/echo.Echo/Unary"), new(":authority", "svc.test"),
        new("content-type", "application/grpc"), new("te", "trailers"),
    ];

    private Http2RelayHarness _relay = null!;

    public Task InitializeAsync()
    {
        _relay = new Http2RelayHarness();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    [Fact]
    public async Task Ping_IsAnsweredWithTheSameOpaqueData()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendPingAsync(0x1122334455667788);
        var ack = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping);

        Assert.True(ack.Header.HasFlag(Http2FrameFlags.Ack));
        Assert.Equal(0x1122334455667788UL, Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(ack.Payload)));
    }

    [Fact]
    public async Task ServeAsync_BadPreface_ClosesTheConnection()
    {
        var (client, served) = _relay.Connect();

        await client.SendRawAsync("GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n"u8.ToArray());

        await served.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(await client.ReadFrameAsync());
    }

    [Fact]
    public async Task Frame_LargerThanMaxFrameSize_GoAwayFrameSizeError()
    {
        var (client, served) = await _relay.ConnectStartedAsync();

        // A DATA frame header announcing 20000 bytes, over the default 16384.
        var frame = new byte[Http2FrameHeader.Size + 20000];
        frame[0] = 0x00;
        frame[1] = 0x4e;
        frame[2] = 0x20;
        frame[8] = 1;
        await client.SendRawAsync(frame);

        await client.ReadToEndAsync();
        Assert.Equal(Http2ErrorCode.FrameSizeError, GoAwayCode(client));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Headers_HpackGarbage_GoAwayCompressionError()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        // Indexed field 0 does not exist (RFC 7541 §6.1).
        await client.SendHeaderBlockAsync(1, [0x80], endStream: true);

        await client.ReadToEndAsync();
        Assert.Equal(Http2ErrorCode.CompressionError, GoAwayCode(client));
    }

    [Fact]
    public async Task Headers_ConnectionSpecificField_ResetProtocolErrorAndNothingForwarded()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendHeadersAsync(1, endStream: true, [.. Get, new("connection", "keep-alive")]);
        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 1);

        Assert.Equal(Http2ErrorCode.ProtocolError, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
        Assert.Equal(0, _relay.Connector.Connects);
    }

    [Fact]
    public async Task Headers_TeOtherThanTrailers_ResetProtocolError()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendHeadersAsync(1, endStream: true, [.. Get, new("te", "gzip")]);
        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 1);

        Assert.Equal(Http2ErrorCode.ProtocolError, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
    }

    [Fact]
    public async Task Headers_BeyondMaxConcurrentStreams_ResetRefusedStream()
    {
        await using var relay = new Http2RelayHarness(new Http2Options { MaxConcurrentStreams = 1 });
        var (client, _) = await relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await client.SendHeadersAsync(3, endStream: true, Get);
        var reset = await client.ReadUntilAsync(f => f.Type == Http2FrameType.RstStream);

        Assert.Equal(3, reset.StreamId);
        Assert.Equal(Http2ErrorCode.RefusedStream, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
    }

    [Fact]
    public async Task Headers_StreamIdBelowTheLastOpenedThatWasNeverUsed_GoAwayProtocolError()
    {
        var (client, served) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(5, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await client.SendHeadersAsync(3, endStream: true, Get);

        await client.ReadToEndAsync();
        Assert.Equal(Http2ErrorCode.ProtocolError, GoAwayCode(client));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }


    // A RST_STREAM on an idle stream is itself a connection error for the client (RFC 9113
    // §6.4), so a stream error there ends the connection instead. Found by Http2RelayRandomFrameTests.
    [Theory]
    [InlineData(2, Http2FrameType.WindowUpdate, new byte[] { 0, 0, 0, 0 }, Http2ErrorCode.ProtocolError)]
    [InlineData(7, Http2FrameType.WindowUpdate, new byte[] { 0, 0, 0, 0 }, Http2ErrorCode.ProtocolError)]
    [InlineData(4, Http2FrameType.Priority, new byte[] { 0, 0, 0, 0 }, Http2ErrorCode.FrameSizeError)]
    [InlineData(9, Http2FrameType.Priority, new byte[] { 0, 0, 0, 0 }, Http2ErrorCode.FrameSizeError)]
    public async Task StreamError_OnAnIdleStream_GoAwayAndNoResetOfTheIdleStream(int streamId, object type, byte[] payload, object code)
    {
        var (client, served) = await _relay.ConnectStartedAsync();

        await client.SendRawAsync(Frames.FrameBytes.Frame((Http2FrameType)type, Http2FrameFlags.None, (uint)streamId, payload));

        await client.ReadToEndAsync();
        Assert.Equal((Http2ErrorCode)code, GoAwayCode(client));
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.RstStream);
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task StreamError_OnAClosedStream_ResetsItAndTheConnectionGoesOn()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        var request = await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SendHeadersAsync(request.StreamId, endStream: true, new HeaderField(":status", "204"));
        await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.EndStream);

        await client.SendRawAsync(Frames.FrameBytes.Frame(Http2FrameType.WindowUpdate, Http2FrameFlags.None, 1, 0, 0, 0, 0));
        await client.SyncAsync();

        var reset = Assert.Single(client.Received, f => f.Type == Http2FrameType.RstStream);
        Assert.Equal(1, reset.StreamId);
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.GoAway);
    }
    [Fact]
    public async Task Headers_TrailersForAStreamTheRelayRefused_IgnoredAndTheConnectionGoesOn()
    {
        await using var relay = new Http2RelayHarness(new Http2Options { MaxConcurrentStreams = 1 });
        var (client, _) = await relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await client.SendHeadersAsync(3, endStream: false, GrpcPost);
        await client.ReadUntilAsync(Http2FrameType.RstStream, 3);

        // Sent before the client saw the reset: RFC 9113 §5.1 has the relay ignore it.
        await client.SendHeadersAsync(3, endStream: true, new HeaderField("grpc-status", "0"));
        await client.SyncAsync();

        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.GoAway);
        await client.SendDataAsync(1, [0, 0, 0, 0, 0], endStream: true);
        Assert.True((await upstream.ReadUntilAsync(Http2FrameType.Data, 1)).EndStream);
    }

    [Fact]
    public async Task Request_Get_HeadersForwardedAndResponseRelayedWithMetrics()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        var request = await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.True(request.EndStream);
        Assert.Equal(Get, upstream.Decode(request));
        await upstream.SendHeadersAsync(1, endStream: false, new(":status", "200"), new("connection", "close"), new("x-kept", "1"));
        await upstream.SendDataAsync(1, "hello"u8.ToArray(), endStream: true);

        var response = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.Equal([new(":status", "200"), new("x-kept", "1")], client.Decode(response));
        var data = await client.ReadUntilAsync(Http2FrameType.Data, 1);
        Assert.Equal("hello"u8.ToArray(), data.Payload);
        Assert.True(data.EndStream);
        Assert.Contains(
            "response_total{direction=\"outbound\",authority=\"svc.test\",tls=\"false\",client_id=\"\",server_id=\"\",dst_namespace=\"\",dst_service=\"\",status_code=\"200\",classification=\"success\",grpc_status=\"\"} 1\n",
            _relay.MetricsText);
    }

    [Fact]
    public async Task Trailers_PassThroughBothWays()
    {
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        await client.SendDataAsync(1, [0, 0, 0, 0, 1, 42], endStream: false);
        await client.SendHeadersAsync(1, endStream: true, new HeaderField("x-request-trailer", "r"));
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.Equal([0, 0, 0, 0, 1, 42], (await upstream.ReadUntilAsync(Http2FrameType.Data, 1)).Payload);
        var requestTrailers = await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.True(requestTrailers.EndStream);
        Assert.Equal([new("x-request-trailer", "r")], upstream.Decode(requestTrailers));

        await upstream.SendHeadersAsync(1, endStream: false, new(":status", "200"), new("content-type", "application/grpc"));
        await upstream.SendDataAsync(1, [0, 0, 0, 0, 1, 7], endStream: false);
        await upstream.SendHeadersAsync(1, endStream: true, new("grpc-status", "0"), new("echo-trailer", "kept"));

        await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.Equal([0, 0, 0, 0, 1, 7], (await client.ReadUntilAsync(Http2FrameType.Data, 1)).Payload);
        var trailers = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.True(trailers.EndStream);
        Assert.Equal([new("grpc-status", "0"), new("echo-trailer", "kept")], client.Decode(trailers));
        Assert.Contains("status_code=\"200\",classification=\"success\",grpc_status=\"0\"} 1\n", _relay.MetricsText);
    }

    [Fact]
    public async Task ClientReset_ResetsTheUpstreamStreamWithCancel()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await client.SendResetAsync(1, Http2ErrorCode.Cancel);

        var reset = await upstream.ReadUntilAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.Cancel, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
        Assert.Contains("status_code=\"\",classification=\"failure\",grpc_status=\"1\"} 1\n", _relay.MetricsText);
    }

    [Fact]
    public async Task UpstreamGoAway_StreamAboveItsLastStreamId_ClientStreamRefusedSoItCanRetry()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await upstream.SendGoAwayAsync(0, Http2ErrorCode.NoError);

        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.RefusedStream, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        // The exchange fails off the read loops and records its outcome just after the RST goes out.
        const string refusedSeries = "status_code=\"\",classification=\"failure\"";
        await Eventually.TrueAsync(() => _relay.MetricsText.Contains(refusedSeries, StringComparison.Ordinal), $"metrics with {refusedSeries}");
    }

    [Fact]
    public async Task UpstreamResetRefusedStream_BeforeResponse_ClientStreamRefused()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await upstream.SendResetAsync(1, Http2ErrorCode.RefusedStream);

        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.RefusedStream, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
    }

    [Fact]
    public async Task UpstreamGoAway_StreamProcessedThenConnectionCloses_502WithProxyError()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        await upstream.SendGoAwayAsync(1, Http2ErrorCode.NoError);
        await upstream.SyncAsync();
        await upstream.CloseAsync();

        var response = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        var fields = client.Decode(response);
        Assert.True(response.EndStream);
        Assert.Equal("502", Http2TestPeer.Value(fields, ":status"));
        Assert.Equal("upstream closed connection", Http2TestPeer.Value(fields, "trellis-proxy-error"));
        Assert.Equal("0", Http2TestPeer.Value(fields, "content-length"));
    }

    [Fact]
    public async Task UpstreamReset_AfterResponseHeaders_ResetsTheClientStreamWithItsCode()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SendHeadersAsync(1, endStream: false, new HeaderField(":status", "200"));
        await client.ReadUntilAsync(Http2FrameType.Headers, 1);

        await upstream.SendResetAsync(1, Http2ErrorCode.EnhanceYourCalm);

        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
    }

    [Fact]
    public async Task Backpressure_UpstreamWindowClosed_ClientGetsNoCreditUntilUpstreamOpensIt()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await _relay.AcceptUpstreamAsync((Http2SettingId.InitialWindowSize, 0));
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SyncAsync();

        // 40000 bytes: within the client's 65535 window, past the half that would earn credit.
        var body = new byte[40000];
        new Random(7).NextBytes(body);
        await client.SendDataAsync(1, body, endStream: false);
        await client.SyncAsync();
        await upstream.SyncAsync();

        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 1);
        Assert.DoesNotContain(upstream.Received, f => f.Type == Http2FrameType.Data);

        await upstream.SendWindowUpdateAsync(1, body.Length);

        var forwarded = new List<byte>();
        while (forwarded.Count < body.Length)
        {
            forwarded.AddRange((await upstream.ReadUntilAsync(Http2FrameType.Data, 1)).Payload);
        }

        Assert.Equal(body, forwarded.ToArray());
        var credit = await client.ReadUntilAsync(Http2FrameType.WindowUpdate, 1);
        Assert.Equal(body.Length, Http2FrameReader.ReadWindowIncrement(new ReadOnlySequence<byte>(credit.Payload)));
    }

    [Fact]
    public async Task UpstreamConcurrencyLimit_SecondStreamDialsASecondConnection()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var first = await _relay.AcceptUpstreamAsync((Http2SettingId.MaxConcurrentStreams, 1));
        await first.ReadUntilAsync(Http2FrameType.Headers, 1);
        await first.SyncAsync();

        await client.SendHeadersAsync(3, endStream: true, Get);
        var second = await _relay.AcceptUpstreamAsync();
        var request = await second.ReadUntilAsync(f => f.Type == Http2FrameType.Headers);

        Assert.Equal(1, request.StreamId);
        Assert.Equal(2, _relay.Connector.Connects);
    }

    [Fact]
    public async Task ConnectionWindow_Exhausted_StalledStreamResumesOnConnectionWindowUpdate()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await _relay.AcceptUpstreamAsync((Http2SettingId.InitialWindowSize, 1 << 20));
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await client.SendHeadersAsync(3, endStream: false, GrpcPost);
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 3);

        // The upstream's connection window is the default 65535: the second body only half fits.
        var first = new byte[40000];
        var second = new byte[40000];
        new Random(1).NextBytes(first);
        new Random(2).NextBytes(second);
        // The upstream reads as the bytes come, as a real server does: pipes pause past 64 KiB.
        var reading = ReadDataAsync(upstream, 65535);
        await client.SendDataAsync(1, first, endStream: true);
        await client.SendDataAsync(3, second, endStream: true);
        await reading;
        await client.SyncAsync();
        await upstream.SyncAsync();
        Assert.Equal(65535, upstream.Received.Where(f => f.Type == Http2FrameType.Data).Sum(f => f.Payload.Length));

        await upstream.SendWindowUpdateAsync(0, 40000);

        var forwarded = new List<byte>();
        Http2TestFrame frame;
        do
        {
            frame = await upstream.ReadUntilAsync(f => f.Type == Http2FrameType.Data);
        }
        while (!frame.EndStream || frame.StreamId != 3);

        foreach (var data in upstream.Received.Where(f => f.Type == Http2FrameType.Data && f.StreamId == 3))
        {
            forwarded.AddRange(data.Payload);
        }

        Assert.Equal(second, forwarded.ToArray());
    }

    [Fact]
    public async Task ResponseIdleTimeout_UpstreamSilent_504AndUpstreamStreamCancelled()
    {
        await using var relay = new Http2RelayHarness(new Http2Options { ResponseIdleTimeout = TimeSpan.FromSeconds(1) });
        var (client, _) = await relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        relay.Time.Advance(TimeSpan.FromSeconds(2));

        var response = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        var fields = client.Decode(response);
        Assert.Equal("504", Http2TestPeer.Value(fields, ":status"));
        Assert.Equal("response timeout", Http2TestPeer.Value(fields, "trellis-proxy-error"));
        var reset = await upstream.ReadUntilAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.Cancel, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
    }

    [Fact]
    public async Task ClientIdleTimeout_NoStreams_GoAwayNoErrorAndClose()
    {
        var (client, served) = await _relay.ConnectStartedAsync();
        await client.SyncAsync();

        _relay.Time.Advance(new Http2Options().ClientIdleTimeout * 2);

        await client.ReadToEndAsync();
        Assert.Equal(Http2ErrorCode.NoError, GoAwayCode(client));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Drain_StreamInFlight_AnnouncesGoAwayNamesTheLastStreamFinishesItAndCloses()
    {
        var (client, served) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);

        var drain = _relay.Forwarder.DrainAsync(CancellationToken.None);
        Assert.Equal((int.MaxValue, Http2ErrorCode.NoError), ReadGoAway(await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway)));
        var ping = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping && !f.Header.HasFlag(Http2FrameFlags.Ack));
        await client.SendPingAckAsync(Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(ping.Payload)));
        Assert.Equal((1, Http2ErrorCode.NoError), ReadGoAway(await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway)));
        Assert.False(served.IsCompleted);

        await upstream.SendHeadersAsync(1, endStream: true, new HeaderField(":status", "204"));

        var response = await client.ReadUntilAsync(Http2FrameType.Headers, 1);
        Assert.Equal("204", Http2TestPeer.Value(client.Decode(response), ":status"));
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Drain_StreamOpenedBeforeTheClientSawTheAnnouncement_IsForwardedNotRefused()
    {
        var (client, served) = await _relay.ConnectStartedAsync();
        await client.SyncAsync();

        var drain = _relay.Forwarder.DrainAsync(CancellationToken.None);
        await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway);
        var ping = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping && !f.Header.HasFlag(Http2FrameFlags.Ack));

        // Sent before the client acknowledged the announcement, as a request already on its way would be.
        await client.SendHeadersAsync(1, endStream: true, Get);
        await client.SendPingAckAsync(Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(ping.Payload)));

        Assert.Equal((1, Http2ErrorCode.NoError), ReadGoAway(await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway)));
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SendHeadersAsync(1, endStream: true, new HeaderField(":status", "200"));
        Assert.Equal("200", Http2TestPeer.Value(client.Decode(await client.ReadUntilAsync(Http2FrameType.Headers, 1)), ":status"));
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.RstStream);
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Drain_StreamAfterTheFinalGoAway_IsRefused()
    {
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        _ = _relay.Forwarder.DrainAsync(CancellationToken.None);
        var ping = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping && !f.Header.HasFlag(Http2FrameFlags.Ack));
        await client.SendPingAckAsync(Http2FrameReader.ReadPing(new ReadOnlySequence<byte>(ping.Payload)));
        await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway && ReadGoAway(f).LastStreamId == 1);

        await client.SendHeadersAsync(3, endStream: true, Get);

        var reset = await client.ReadUntilAsync(Http2FrameType.RstStream, 3);
        Assert.Equal(Http2ErrorCode.RefusedStream, Http2FrameReader.ReadRstStream(new ReadOnlySequence<byte>(reset.Payload)));
    }

    [Fact]
    public async Task Drain_ClientNeverAcknowledges_FinalGoAwayAfterTheTimeoutThenClose()
    {
        var (client, served) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SendHeadersAsync(1, endStream: true, new HeaderField(":status", "204"));
        await client.ReadUntilAsync(Http2FrameType.Headers, 1);

        var drain = _relay.Forwarder.DrainAsync(CancellationToken.None);
        await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping && !f.Header.HasFlag(Http2FrameFlags.Ack));
        Assert.False(served.IsCompleted);
        _relay.Time.Advance(TimeSpan.FromSeconds(1));

        await client.ReadToEndAsync();
        var goAways = client.Received.Where(f => f.Type == Http2FrameType.GoAway).Select(ReadGoAway).ToList();
        Assert.Equal([(int.MaxValue, Http2ErrorCode.NoError), (1, Http2ErrorCode.NoError)], goAways);
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task SlowDial_FramesArrivingMeanwhile_GoOutInOrderOnceOpen()
    {
        _relay.DialGate = new TaskCompletionSource();
        var (client, _) = await _relay.ConnectStartedAsync();

        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        await client.SendDataAsync(1, [0, 0, 0, 0, 2, 1, 2], endStream: false);
        await client.SendHeadersAsync(1, endStream: true, new HeaderField("x-request-trailer", "t"));
        await client.SyncAsync();
        Assert.DoesNotContain(client.Received, f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 1);
        _relay.DialGate.SetResult();

        var upstream = await _relay.AcceptUpstreamAsync();
        var headers = await upstream.ReadUntilAsync(f => f.Type is Http2FrameType.Headers or Http2FrameType.Data);
        Assert.Equal(Http2FrameType.Headers, headers.Type);
        Assert.Equal(GrpcPost, upstream.Decode(headers));
        Assert.Equal([0, 0, 0, 0, 2, 1, 2], (await upstream.ReadUntilAsync(f => f.Type is Http2FrameType.Headers or Http2FrameType.Data)).Payload);
        var trailers = await upstream.ReadUntilAsync(f => f.Type is Http2FrameType.Headers or Http2FrameType.Data);
        Assert.Equal(Http2FrameType.Headers, trailers.Type);
        Assert.True(trailers.EndStream);
        Assert.Equal([new("x-request-trailer", "t")], upstream.Decode(trailers));
    }

    [Fact]
    public async Task SlowDial_ClientResetsMeanwhile_StreamNeverOpensUpstream()
    {
        _relay.DialGate = new TaskCompletionSource();
        var (client, _) = await _relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: true, Get);
        await client.SendResetAsync(1, Http2ErrorCode.Cancel);
        await client.SyncAsync();

        _relay.DialGate.SetResult();
        var upstream = await _relay.AcceptUpstreamAsync();
        await upstream.SyncAsync();

        Assert.DoesNotContain(upstream.Received, f => f.Type == Http2FrameType.Headers);
        Assert.Contains("status_code=\"\",classification=\"failure\",grpc_status=\"\"} 1\n", _relay.MetricsText);

        // The slot the reset stream held is free again: the next request opens on the same connection.
        await client.SendHeadersAsync(3, endStream: true, Get);
        Assert.Equal(1, (await upstream.ReadUntilAsync(Http2FrameType.Headers, 1)).StreamId);
        Assert.Equal(1, _relay.Connector.Connects);
    }

    [Fact]
    public async Task Dispose_UpstreamStoppedReading_AbortsInsteadOfWaiting()
    {
        await using var relay = new Http2RelayHarness();
        var (client, served) = await relay.ConnectStartedAsync();
        await client.SendHeadersAsync(1, endStream: false, GrpcPost);
        var upstream = await relay.AcceptUpstreamAsync((Http2SettingId.InitialWindowSize, 1 << 20));
        await upstream.ReadUntilAsync(Http2FrameType.Headers, 1);
        await upstream.SendWindowUpdateAsync(0, 1 << 20);
        await upstream.SyncAsync();

        // More than the in-memory pipe holds (64 KiB): the relay's flush to the upstream waits
        // for a reader that never comes, and the client's second send may wait on the relay.
        var sending = SendTwiceAsync(client, new byte[60000]);
        await upstream.WaitForUnreadAsync(64 * 1024);

        await relay.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await served.WaitAsync(TimeSpan.FromSeconds(10));
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task SendTwiceAsync(Http2TestPeer client, byte[] body)
    {
        await client.SendDataAsync(1, body, endStream: false);
        await client.SendDataAsync(1, body, endStream: false);
    }

    private static async Task ReadDataAsync(Http2TestPeer peer, int bytes)
    {
        var read = 0;
        while (read < bytes)
        {
            read += (await peer.ReadUntilAsync(f => f.Type == Http2FrameType.Data)).Payload.Length;
        }
    }

    private static (int LastStreamId, Http2ErrorCode Code) ReadGoAway(Http2TestFrame goAway) =>
        Http2FrameReader.ReadGoAway(new ReadOnlySequence<byte>(goAway.Payload));

    private static Http2ErrorCode GoAwayCode(Http2TestPeer peer)
    {
        var goAway = Assert.Single(peer.Received, f => f.Type == Http2FrameType.GoAway);
        return Http2FrameReader.ReadGoAway(new ReadOnlySequence<byte>(goAway.Payload)).Code;
    }
}
