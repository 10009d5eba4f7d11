using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>
/// An upstream connection over pipes whose Abort behaves like the socket transport's: at once
/// and on the caller's thread. (DefaultConnectionContext cancels its closed-token later on the
/// thread pool, which races the disposal that follows an abort.)
/// </summary>
internal sealed class InMemoryConnection : ConnectionContext
{
    private readonly CancellationTokenSource _closed = new();
    private readonly IDuplexPipe _serverSide;

    public InMemoryConnection(string id, IDuplexPipe proxySide, IDuplexPipe serverSide)
    {
        ConnectionId = id;
        Transport = proxySide;
        _serverSide = serverSide;
        ConnectionClosed = _closed.Token;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    public bool Aborted { get; private set; }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Aborted = true;
        Transport.Output.Complete(abortReason);
        Transport.Input.Complete(abortReason);
        Cancel();
    }

    public override ValueTask DisposeAsync()
    {
        Transport.Output.Complete();
        Transport.Input.Complete();
        Cancel();
        return base.DisposeAsync();
    }

    private void Cancel()
    {
        lock (_closed)
        {
            _closed.Cancel();
        }
    }
}
