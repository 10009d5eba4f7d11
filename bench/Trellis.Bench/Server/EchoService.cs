using Grpc.Core;
using Trellis.Bench.Protos;

namespace Trellis.Bench.Server;

/// <summary>The gRPC unary echo every setup forwards: returns the request message unchanged.</summary>
internal sealed class EchoService : Echo.EchoBase
{
    public override Task<EchoMessage> Echo(EchoMessage request, ServerCallContext context) => Task.FromResult(request);
}
