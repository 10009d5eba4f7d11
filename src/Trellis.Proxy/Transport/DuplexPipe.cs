using System.IO.Pipelines;

namespace Trellis.Proxy.Transport;

/// <summary>A reader and a writer as one duplex pipe: a connection's transport.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
