using System.Net;
using System.Net.Sockets;
using System.Text;
using Trellis.Bench.Load;

namespace Trellis.Bench.Tests.Load;

public sealed class Http1OpenLoopTests
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [Fact]
    public async Task RunAsync_AnsweringServer_SendsEveryScheduledRequest()
    {
        using var server = new LoopbackServer(answer: true);

        // 100 req/s over 2 connections for 1 s: each connection's schedule holds 50 sends.
        var result = await Http1OpenLoop.RunAsync(server.Endpoint, rate: 100, connections: 2, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(0, result.Errors);
        Assert.Equal(100, result.Requests);
        // The phase's opening round trip on each connection is untimed but still reaches the server.
        Assert.Equal(102, server.Requests);
    }

    [Fact]
    public async Task RunAsync_ServerClosingEveryConnection_CountsEachSendAsAnError()
    {
        using var server = new LoopbackServer(answer: false);

        var result = await Http1OpenLoop.RunAsync(server.Endpoint, rate: 20, connections: 2, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(0, result.Requests);
        Assert.Equal(20, result.Errors);
        Assert.Contains("closed", result.FirstError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Cancelled_Stops()
    {
        using var server = new LoopbackServer(answer: true);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Http1OpenLoop.RunAsync(server.Endpoint, rate: 10, connections: 1, TimeSpan.FromMinutes(10), cancel.Token));
    }

    /// <summary>Answers every request on every connection with a fixed 200, or closes each connection once its first request arrives.</summary>
    private sealed class LoopbackServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly bool _answer;
        private int _requests;

        public LoopbackServer(bool answer)
        {
            _answer = answer;
            _listener.Start();
            _ = AcceptAsync();
        }

        public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

        public int Requests => Volatile.Read(ref _requests);

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    _ = ServeAsync(await _listener.AcceptSocketAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            using var _ = socket;
            var buffer = new byte[4096];
            var pending = new StringBuilder();
            try
            {
                while (await socket.ReceiveAsync(buffer) is var read and > 0)
                {
                    pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    for (var end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal); end >= 0; end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal))
                    {
                        pending.Remove(0, end + 4);
                        Interlocked.Increment(ref _requests);
                        if (!_answer)
                        {
                            return;
                        }
                        await socket.SendAsync(Response);
                    }
                }
            }
            catch (SocketException)
            {
                // The client went away.
            }
        }
    }
}
