using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>
/// Stands in for the proxy's listener and detection layer: accepts loopback connections, peeks
/// the HTTP/2 preface without consuming it (as detection does), and hands each connection to an
/// <see cref="Http2Forwarder"/> with the given target.
/// </summary>
public sealed class Http2ProxyHarness : IAsyncDisposable
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly SocketConnectionContextFactory _factory = new(new SocketConnectionFactoryOptions(), NullLogger.Instance);
    private readonly IPEndPoint _target;
    private readonly ConcurrentBag<Task> _served = [];
    private readonly Task _acceptLoop;

    public Http2ProxyHarness(IPEndPoint target, Http2Options? options = null)
    {
        _target = target;
        Metrics = new ProxyMetrics(new MetricsRegistry());
        Forwarder = new Http2Forwarder(new TargetAddressResolver(), Metrics, options ?? new Http2Options(), TimeProvider.System, NullLoggerFactory.Instance);
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint Endpoint { get; }

    public ProxyMetrics Metrics { get; }

    public Http2Forwarder Forwarder { get; }

    public string MetricsText => Metrics.Registry.Render();

    /// <summary>Waits (bounded) until the metrics text contains <paramref name="line"/>; metrics are recorded just after the response ends.</summary>
    public async Task<string> WaitForMetricAsync(string line)
    {
        for (var i = 0; i < 100; i++)
        {
            var text = MetricsText;
            if (text.Contains(line, StringComparison.Ordinal))
            {
                return text;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"metrics never contained:\n{line}\nlast text:\n{MetricsText}");
        return string.Empty;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _acceptLoop;
        await Forwarder.DisposeAsync();
        await Task.WhenAll(_served);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            _served.Add(ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        socket.NoDelay = true;
        var context = _factory.Create(socket);
        try
        {
            // Detection's contract: look at the preface, consume and examine nothing.
            var read = await context.Transport.Input.ReadAtLeastAsync(Preface.Length);
            var isPreface = read.Buffer.Length >= Preface.Length && read.Buffer.Slice(0, Preface.Length).ToArray().AsSpan().SequenceEqual(Preface);
            context.Transport.Input.AdvanceTo(read.Buffer.Start);
            if (isPreface)
            {
                await Forwarder.ServeAsync(new ProxyConnection(context, TrafficDirection.Outbound, _target) { Protocol = DetectedProtocol.Http2 });
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away while being peeked at.
        }
        finally
        {
            await context.DisposeAsync();
        }
    }
}
