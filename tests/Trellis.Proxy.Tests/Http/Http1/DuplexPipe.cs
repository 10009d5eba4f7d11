using System.IO.Pipelines;

namespace Trellis.Proxy.Tests.Http.Http1;

internal sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe
{
    /// <summary>Two connected ends: what one writes, the other reads.</summary>
    public static (DuplexPipe Near, DuplexPipe Far) CreatePair()
    {
        var toNear = new Pipe();
        var toFar = new Pipe();
        return (new DuplexPipe(toNear.Reader, toFar.Writer), new DuplexPipe(toFar.Reader, toNear.Writer));
    }
}
