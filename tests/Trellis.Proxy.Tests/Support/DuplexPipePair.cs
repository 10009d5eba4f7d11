using System.IO.Pipelines;

namespace Trellis.Proxy.Tests;

/// <summary>Two connected in-memory pipe ends: the proxy's (Transport) and the peer's (Application).</summary>
internal sealed record DuplexPipePair(IDuplexPipe Transport, IDuplexPipe Application)
{
    public static DuplexPipePair Create()
    {
        var toProxy = new Pipe();
        var fromProxy = new Pipe();
        return new DuplexPipePair(new Duplex(toProxy.Reader, fromProxy.Writer), new Duplex(fromProxy.Reader, toProxy.Writer));
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
