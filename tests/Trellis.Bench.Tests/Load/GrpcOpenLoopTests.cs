using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Server;

namespace Trellis.Bench.Tests.Load;

public sealed class GrpcOpenLoopTests
{
    [Fact]
    public async Task RunAsync_EchoOrigin_SendsEveryScheduledCall()
    {
        await using var origin = await RunningOrigin.StartAsync();

        var result = await GrpcOpenLoop.RunAsync(origin.GrpcEndpoint, rate: 100, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Null(result.FirstError);
        Assert.Equal(0, result.Errors);
        Assert.Equal(100, result.Requests);
        Assert.False(double.IsNaN(result.LatencyMsByPercentile[^1]));
    }

    [Fact]
    public async Task RunAsync_Cancelled_Stops()
    {
        await using var origin = await RunningOrigin.StartAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => GrpcOpenLoop.RunAsync(origin.GrpcEndpoint, rate: 10, TimeSpan.FromMinutes(10), cancel.Token));
    }

    [Fact]
    public async Task RunAsync_CancelledDuringTheOpeningCall_StopsAsOnSchedule()
    {
        // Accepts connections and never answers, so the opening call is still waiting when the phase is stopped.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => GrpcOpenLoop.RunAsync((IPEndPoint)silent.LocalEndpoint, rate: 10, TimeSpan.FromSeconds(1), cancel.Token));

        Assert.Equal(cancel.Token, error.CancellationToken);
    }

    [Fact]
    public async Task RunAsync_NothingListening_FailsOnTheOpeningCall()
    {
        var endpoint = Ports.Loopback(Ports.Free());

        var error = await Assert.ThrowsAsync<RpcException>(
            () => GrpcOpenLoop.RunAsync(endpoint, rate: 10, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    /// <summary>The benchmark's own origin, in this process, on free loopback ports.</summary>
    private sealed class RunningOrigin : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<int> _run;

        private RunningOrigin(int grpcPort)
        {
            GrpcEndpoint = Ports.Loopback(grpcPort);
            _run = OriginServer.RunAsync(Ports.Free(), grpcPort, _stop.Token);
        }

        public IPEndPoint GrpcEndpoint { get; }

        public static async Task<RunningOrigin> StartAsync()
        {
            var origin = new RunningOrigin(Ports.Free());
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (!Ports.IsListening(origin.GrpcEndpoint.Port))
                {
                    if (origin._run.IsCompleted)
                    {
                        await origin._run;
                    }
                    await Task.Delay(20, timeout.Token);
                }
                return origin;
            }
            catch
            {
                // An origin that never listened is stopped, not left running in the test process.
                await origin.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _run;
            _stop.Dispose();
        }
    }
}
