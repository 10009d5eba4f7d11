using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Tls;

/// <summary>Two connected in-memory connection ends: what one writes, the other reads.</summary>
internal static class PipePair
{
    public static readonly IPEndPoint ClientAddress = new(IPAddress.Loopback, 40000);

    /// <param name="scheduler">Where continuations run; the thread pool unless given (the proxy's own pipes run them inline).</param>
    public static (DuplexPipe Client, DuplexPipe Server) Create(PipeScheduler? scheduler = null)
    {
        var options = scheduler is null ? PipeOptions.Default : new PipeOptions(readerScheduler: scheduler, writerScheduler: scheduler, useSynchronizationContext: false);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        return (new DuplexPipe(toClient.Reader, toServer.Writer), new DuplexPipe(toServer.Reader, toClient.Writer));
    }

    /// <summary>A pair of connection contexts, the server one with <see cref="ClientAddress"/> as its remote end.</summary>
    public static (DefaultConnectionContext Client, DefaultConnectionContext Server) CreateContexts(PipeScheduler? scheduler = null)
    {
        var (client, server) = Create(scheduler);
        var clientContext = new DefaultConnectionContext("client", client, server);
        var serverContext = new DefaultConnectionContext("server", server, client) { RemoteEndPoint = ClientAddress };
        return (clientContext, serverContext);
    }
}
