using System.IO.Pipelines;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Http.Http1;

internal static class InlinePipePair
{
    // Inline continuations, as the proxy's socket transport runs them: a woken reader runs inside
    // the writer's call, which is where re-entrancy bugs show.
    private static readonly PipeOptions Inline = new(
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);

    /// <summary>Two connected ends: what one writes, the other reads.</summary>
    public static (DuplexPipe Near, DuplexPipe Far) Create()
    {
        var toNear = new Pipe(Inline);
        var toFar = new Pipe(Inline);
        return (new DuplexPipe(toNear.Reader, toFar.Writer), new DuplexPipe(toFar.Reader, toNear.Writer));
    }
}
