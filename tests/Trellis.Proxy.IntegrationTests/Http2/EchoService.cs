using Grpc.Core;
using Trellis.Proxy.Tests.Http.Http2.Echo;
using EchoContract = Trellis.Proxy.Tests.Http.Http2.Echo.Echo;

namespace Trellis.Proxy.IntegrationTests.Http2;

/// <summary>The gRPC origin: one method of each kind, each able to fail with a chosen status.</summary>
internal sealed class EchoService : EchoContract.EchoBase
{
    public override Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
    {
        FailIfAsked(request);
        return Task.FromResult(Reply(request.Text, 0, context));
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        FailIfAsked(request);
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(Reply($"{request.Text} {i}", i, context), context.CancellationToken);
        }
    }

    public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        var texts = new List<string>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            FailIfAsked(request);
            texts.Add(request.Text);
        }

        return Reply(string.Join('+', texts), texts.Count, context);
    }

    public override async Task Bidi(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        var index = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            FailIfAsked(request);
            await responseStream.WriteAsync(Reply(request.Text, index++, context), context.CancellationToken);
        }
    }

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.FailWith != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailWith, "failed as asked"));
        }
    }

    private static EchoReply Reply(string text, int index, ServerCallContext context) =>
        new() { Text = text, Index = index, Authority = context.GetHttpContext().Request.Host.Value ?? string.Empty };
}
