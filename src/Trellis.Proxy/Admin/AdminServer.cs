using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Admin;

/// <summary>
/// The admin listener (4191): <c>/metrics</c>, <c>/ready</c>, <c>/live</c>, <c>/shutdown</c>.
/// Plain HTTP/1.1 over the proxy's own socket transport and request parser rather than a web
/// server: a few scrapes and probes a minute do not justify Kestrel's code and start-up pages
/// in a proxy whose idle memory budget is a few megabytes.
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a stopping server waits for responses in flight before resetting their connections.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    private readonly SocketListener _listener;
    private readonly AdminApplication _application;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<AdminConnection, Task> _open = [];
    private int _disposed;

    /// <exception cref="SocketException">The endpoint cannot be bound.</exception>
    public AdminServer(IPEndPoint endpoint, AdminApplication application, ILoggerFactory loggerFactory)
        : this(endpoint, application, loggerFactory, TimeProvider.System, DefaultIdleTimeout)
    {
    }

    /// <param name="idleTimeout">How long a connection may wait for its next request, or take to send it or read its response.</param>
    internal AdminServer(IPEndPoint endpoint, AdminApplication application, ILoggerFactory loggerFactory, TimeProvider time, TimeSpan idleTimeout)
    {
        _application = application;
        _time = time;
        _idleTimeout = idleTimeout;
        _logger = loggerFactory.CreateLogger("trellis.proxy.admin");
        _listener = new SocketListener(endpoint, "admin", ServeAsync, _logger);
    }

    /// <summary>The bound address; the port is real even when 0 was asked for.</summary>
    public IPEndPoint? LocalEndPoint => _listener.LocalEndPoint;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _listener.Start();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting, closes idle connections, lets responses in flight finish for a
    /// moment (the answer to <c>POST /shutdown</c> among them), then resets the rest.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Once the accept loop has ended every accepted connection is in _open: each is added
        // before the loop accepts the next.
        await _listener.DisposeAsync();
        await _stopping.CancelAsync();
        KeyValuePair<AdminConnection, Task>[] open;
        lock (_open)
        {
            open = [.. _open];
        }

        var closed = Task.WhenAll(open.Select(entry => entry.Value));
        try
        {
            await closed.WaitAsync(StopGrace, _time);
        }
        catch (TimeoutException)
        {
            foreach (var (connection, _) in open)
            {
                connection.Abort();
            }

            await closed;
        }

        _stopping.Dispose();
    }

    private async Task ServeAsync(Socket socket)
    {
        socket.NoDelay = true;
        var connection = new AdminConnection(SocketConnection.Start(socket), _application, _time, _idleTimeout, _logger, _stopping.Token);
        var serving = connection.RunAsync();
        lock (_open)
        {
            _open.Add(connection, serving);
        }

        await serving;
        lock (_open)
        {
            _open.Remove(connection);
        }
    }
}
