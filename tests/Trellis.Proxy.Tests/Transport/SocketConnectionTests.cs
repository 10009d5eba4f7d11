using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Transport;

/// <summary>How a socket connection's input ends: FIN, a reset by the peer, or a local abort. Real loopback sockets.</summary>
public sealed class SocketConnectionTests : IAsyncLifetime
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private Socket _peer = null!;
    private SocketConnection _connection = null!;

    public async Task InitializeAsync()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        var local = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = _listener.AcceptAsync();
        await local.ConnectAsync(_listener.LocalEndPoint!);
        _peer = await accept;
        _connection = SocketConnection.Start(local);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        _peer.Dispose();
        _listener.Dispose();
    }

    [Fact]
    public async Task PeerFin_DeliversTheBytesThenCompletesWithoutError()
    {
        await _peer.SendAsync("hello"u8.ToArray());
        _peer.Shutdown(SocketShutdown.Send);

        var result = await ReadToEndAsync();

        Assert.Equal("hello", result.Text);
        Assert.Null(result.Error);
        Assert.False(_connection.ConnectionClosed.IsCancellationRequested);
    }

    [Fact]
    public async Task PeerReset_EndsTheInputWithAResetReportedWithoutAThrow()
    {
        ResetPeer();

        var result = await ReadToEndAsync();

        var reset = Assert.IsType<ConnectionResetException>(result.Error);
        var cause = Assert.IsType<SocketException>(reset.InnerException);
        Assert.Equal(SocketError.ConnectionReset, cause.SocketErrorCode);
        // The transport learnt of the reset as an error code: the cause was made, never thrown,
        // so no stack trace was captured (formatting one is what the transport avoids).
        Assert.Null(cause.StackTrace);
        Assert.True(_connection.ConnectionClosed.IsCancellationRequested);
    }

    [Fact]
    public async Task PeerReset_EndsTheOutput()
    {
        ResetPeer();
        await ReadToEndAsync();

        // A write after the peer's reset reaches the send loop, which ends the output with the failure.
        FlushResult flush = default;
        var failed = false;
        for (var attempt = 0; attempt < 50 && !flush.IsCompleted && !failed; attempt++)
        {
            try
            {
                await _connection.Transport.Output.WriteAsync(new byte[1024]);
                flush = await _connection.Transport.Output.FlushAsync();
            }
            catch (ConnectionResetException)
            {
                failed = true;
            }
        }

        Assert.True(failed || flush.IsCompleted);
    }

    [Fact]
    public async Task LocalAbort_EndsTheInputAsClosedLocally()
    {
        var read = ReadToEndAsync();

        _connection.Abort(new ConnectionAbortedException("test"));
        var result = await read;

        Assert.IsType<ConnectionAbortedException>(result.Error);
        Assert.True(_connection.ConnectionClosed.IsCancellationRequested);
    }

    /// <summary>Closes the peer's socket with an RST (no linger) instead of a FIN.</summary>
    private void ResetPeer()
    {
        _peer.LingerState = new LingerOption(true, 0);
        _peer.Close();
    }

    private async Task<(string Text, Exception? Error)> ReadToEndAsync()
    {
        var input = _connection.Transport.Input;
        var text = new System.Text.StringBuilder();
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                foreach (var segment in result.Buffer)
                {
                    text.Append(System.Text.Encoding.ASCII.GetString(segment.Span));
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return (text.ToString(), null);
                }
            }
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            return (text.ToString(), e);
        }
    }
}
