using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http2;

public class HandoffConnectionListenerTests
{
    [Fact]
    public async Task BindAsync_SocketEndPoint_ThrowsNotSupported()
    {
        var listener = new HandoffConnectionListener();

        var e = await Assert.ThrowsAsync<NotSupportedException>(() => listener.BindAsync(new IPEndPoint(IPAddress.Loopback, 80)).AsTask());

        Assert.Contains("hand-off", e.Message);
    }

    [Fact]
    public async Task AcceptAsync_EnqueuedConnection_YieldsItWithProxyConnectionFeature()
    {
        var listener = new HandoffConnectionListener();
        var connection = NewConnection();
        var handoff = new HandoffConnectionContext(connection);

        Assert.True(listener.Enqueue(handoff));
        var accepted = await listener.AcceptAsync();

        Assert.Same(handoff, accepted);
        Assert.Same(connection, accepted!.Features.Get<ProxyConnection>());
        Assert.Same(connection.Transport, accepted.Transport);
    }

    [Fact]
    public async Task DisposeAsync_QueuedConnection_ReleasedAndLaterEnqueueRefused()
    {
        var listener = new HandoffConnectionListener();
        var queued = new HandoffConnectionContext(NewConnection());
        listener.Enqueue(queued);

        await listener.DisposeAsync();

        Assert.True(queued.Done.IsCompleted);
        Assert.False(listener.Enqueue(new HandoffConnectionContext(NewConnection())));
        Assert.Null(await listener.AcceptAsync());
    }

    [Fact]
    public async Task DisposeAsync_OfHandoffContext_CompletesDoneWithoutDisposingTheSocketSide()
    {
        var connection = NewConnection();
        var handoff = new HandoffConnectionContext(connection);

        await handoff.DisposeAsync();

        Assert.True(handoff.Done.IsCompleted);
        Assert.False(connection.Closed.IsCancellationRequested);
    }

    private static ProxyConnection NewConnection()
    {
        var input = new Pipe();
        var output = new Pipe();
        var transport = new DuplexPipe(input.Reader, output.Writer);
        var application = new DuplexPipe(output.Reader, input.Writer);
        return new ProxyConnection(
            new DefaultConnectionContext("test", transport, application), TrafficDirection.Inbound, new IPEndPoint(IPAddress.Loopback, 8080));
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
