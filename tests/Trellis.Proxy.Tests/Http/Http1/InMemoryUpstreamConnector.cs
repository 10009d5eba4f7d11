using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>An <see cref="IUpstreamConnector"/> whose "sockets" are pipe pairs; the test plays the upstream.</summary>
internal sealed class InMemoryUpstreamConnector : IUpstreamConnector
{
    private readonly Channel<TestPeer> _accepted = Channel.CreateUnbounded<TestPeer>();
    private int _connects;

    /// <summary>When set, dialling fails with this error instead of connecting.</summary>
    public ProxyError FailWith { get; set; }

    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Every connection handed out, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<InMemoryConnection> Connections { get; } = new();

    public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connects);
        if (FailWith != ProxyError.None)
        {
            throw new UpstreamConnectException(FailWith, endpoint);
        }

        var (proxySide, serverSide) = InlinePipePair.Create();
        var connection = new InMemoryConnection("upstream-" + _connects, proxySide, serverSide);
        Connections.Enqueue(connection);
        _accepted.Writer.TryWrite(new TestPeer(serverSide));
        return ValueTask.FromResult<ConnectionContext>(connection);
    }

    /// <summary>The next connection the proxy dialled, as its server end.</summary>
    public async Task<TestPeer> AcceptAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _accepted.Reader.ReadAsync(timeout.Token);
    }
}
