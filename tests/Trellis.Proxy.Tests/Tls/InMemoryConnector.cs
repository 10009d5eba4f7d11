using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Tls;

/// <summary>
/// An upstream connector that "dials" by making a pipe pair and running a server handler (the
/// inbound layer under test) on the far end, as the peer proxy's listener would.
/// </summary>
/// <param name="scheduler">Where the pipes run continuations; the thread pool unless given.</param>
internal sealed class InMemoryConnector(ProxyConnectionHandler server, PipeScheduler? scheduler = null) : IUpstreamConnector
{
    public static readonly IPEndPoint Target = new(IPAddress.Loopback, 8080);

    public Task ServerTask { get; private set; } = Task.CompletedTask;

    public ProxyConnection? ServerConnection { get; private set; }

    public ValueTask<ConnectionContext> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var (client, serverContext) = PipePair.CreateContexts(scheduler);
        ServerConnection = new ProxyConnection(serverContext, TrafficDirection.Inbound, Target);
        ServerTask = Task.Run(() => server(ServerConnection), CancellationToken.None);
        return ValueTask.FromResult<ConnectionContext>(client);
    }
}
