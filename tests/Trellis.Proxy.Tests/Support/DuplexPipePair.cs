using System.IO.Pipelines;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests;

/// <summary>Two connected in-memory pipe ends: the proxy's (Transport) and the peer's (Application).</summary>
internal sealed record DuplexPipePair(IDuplexPipe Transport, IDuplexPipe Application)
{
    public static DuplexPipePair Create()
    {
        var toProxy = new Pipe();
        var fromProxy = new Pipe();
        return new DuplexPipePair(new DuplexPipe(toProxy.Reader, fromProxy.Writer), new DuplexPipe(fromProxy.Reader, toProxy.Writer));
    }
}
