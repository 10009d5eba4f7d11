using Grpc.Core;
using Trellis.Proxy.Tests.Http.Http2.Echo;

namespace Trellis.Proxy.Tests.Http.Http2;

/// <summary>Records what the test gRPC server saw, for assertions on cancellation.</summary>
public sealed class EchoProbe
{
    /// <summary>Completes when a hanging call is cancelled on the server (client reset or deadline).</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The test gRPC service: each kind of call, with knobs for failures, hangs and resets.</summary>
public sealed class EchoService(EchoProbe probe) : Echo.Echo.EchoBase
{
    public override async Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
    {
        await GateAsync(request, context);
        context.ResponseTrailers.Add("echo-trailer", "kept");
        return Reply(request.Text, 0, context);
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < Math.Max(1, request.Count); i++)
        {
            await responseStream.WriteAsync(Reply(request.Text, i, context));
        }

        if (request.Abort)
        {
            context.GetHttpContext().Abort();
            return;
        }

        await GateAsync(request, context);
    }

    public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        var text = string.Empty;
        var count = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            text += request.Text;
            count++;
        }

        return Reply(text, count, context);
    }

    public override async Task Bidi(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        var index = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(Reply(request.Text, index++, context));
        }
    }

    private async Task GateAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.FailWith != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailWith, "requested failure"));
        }

        if (request.Hang)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Cancelled.TrySetResult();
                throw;
            }
        }
    }

    private static EchoReply Reply(string text, int index, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        return new EchoReply
        {
            Text = text,
            Index = index,
            Authority = http.Request.Host.Value ?? string.Empty,
            ConnectionId = http.Connection.Id,
        };
    }
}
