using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Detection;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Detection;

public class DetectProtocolLayerTests
{
    private static readonly IPEndPoint Target = new(IPAddress.Loopback, 8080);

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n", DetectedProtocol.Http1)]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", DetectedProtocol.Http2)]
    [InlineData("\x16\x03\x01\x00\x05hello", DetectedProtocol.Tls)]
    [InlineData("\x00\x01binary", DetectedProtocol.Opaque)]
    public async Task Invoke_FirstBytes_CallsThatProtocolsNextWithNothingConsumed(string first, DetectedProtocol expected)
    {
        var (connection, client) = NewConnection();
        var chosen = DetectedProtocol.Unknown;
        string? seenByNext = null;
        var layer = NewLayer(new FakeTimeProvider(), async (protocol, c) =>
        {
            chosen = protocol;
            var result = await c.Transport.Input.ReadAsync();
            seenByNext = Encoding.Latin1.GetString(result.Buffer.ToArray());
            c.Transport.Input.AdvanceTo(result.Buffer.End);
        });
        await client.Output.WriteAsync(Encoding.Latin1.GetBytes(first));

        await layer.InvokeAsync(connection);

        Assert.Equal(expected, chosen);
        Assert.Equal(expected, connection.Protocol);
        Assert.Equal(first, seenByNext);
    }

    [Fact]
    public async Task Invoke_RequestLineInPieces_WaitsThenPicksHttp1()
    {
        var (connection, client) = NewConnection();
        var chosen = DetectedProtocol.Unknown;
        var layer = NewLayer(new FakeTimeProvider(), (protocol, _) =>
        {
            chosen = protocol;
            return Task.CompletedTask;
        });

        var running = layer.InvokeAsync(connection);
        await client.Output.WriteAsync("GET /inde"u8.ToArray());
        await Task.Delay(20);
        Assert.False(running.IsCompleted);
        await client.Output.WriteAsync("x.html HTTP/1.1\r\n"u8.ToArray());
        await running;

        Assert.Equal(DetectedProtocol.Http1, chosen);
    }

    [Fact]
    public async Task Invoke_SilentClientPastTimeout_GoesOpaque()
    {
        var time = new FakeTimeProvider();
        var (connection, _) = NewConnection();
        var chosen = DetectedProtocol.Unknown;
        var layer = NewLayer(time, (protocol, _) =>
        {
            chosen = protocol;
            return Task.CompletedTask;
        });

        var running = layer.InvokeAsync(connection);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await running.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(DetectedProtocol.Opaque, chosen);
    }

    [Fact]
    public async Task Invoke_PartialRequestLineThenSilence_GoesOpaqueWithBytesIntact()
    {
        var time = new FakeTimeProvider();
        var (connection, client) = NewConnection();
        string? seenByNext = null;
        var layer = NewLayer(time, async (_, c) =>
        {
            // As the opaque path does: the cancelled read left the bytes unconsumed but unsignalled.
            var result = c.Transport.Input.TryRead(out var r) ? r : await c.Transport.Input.ReadAsync();
            seenByNext = Encoding.ASCII.GetString(result.Buffer.ToArray());
            c.Transport.Input.AdvanceTo(result.Buffer.End);
        });

        var running = layer.InvokeAsync(connection);
        await client.Output.WriteAsync("GET /slow"u8.ToArray());
        await Task.Delay(20);
        time.Advance(TimeSpan.FromSeconds(10));
        await running.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(DetectedProtocol.Opaque, connection.Protocol);
        Assert.Equal("GET /slow", seenByNext);
    }

    [Fact]
    public async Task Invoke_ClientClosesWithoutSending_GoesOpaque()
    {
        var (connection, client) = NewConnection();
        var chosen = DetectedProtocol.Unknown;
        var layer = NewLayer(new FakeTimeProvider(), (protocol, _) =>
        {
            chosen = protocol;
            return Task.CompletedTask;
        });
        await client.Output.CompleteAsync();

        await layer.InvokeAsync(connection);

        Assert.Equal(DetectedProtocol.Opaque, chosen);
    }

    private static DetectProtocolLayer NewLayer(TimeProvider time, Func<DetectedProtocol, ProxyConnection, Task> next) =>
        new(
            c => next(DetectedProtocol.Http1, c),
            c => next(DetectedProtocol.Http2, c),
            c => next(DetectedProtocol.Tls, c),
            c => next(DetectedProtocol.Opaque, c),
            TimeSpan.FromSeconds(10),
            time,
            NullLogger.Instance);

    /// <summary>A proxy connection over in-memory pipes, and the client's end of them.</summary>
    private static (ProxyConnection Connection, IDuplexPipe Client) NewConnection()
    {
        var pair = DuplexPipePair.Create();
        var context = new DefaultConnectionContext("test", pair.Transport, pair.Application);
        return (new ProxyConnection(context, TrafficDirection.Outbound, Target), pair.Application);
    }
}
