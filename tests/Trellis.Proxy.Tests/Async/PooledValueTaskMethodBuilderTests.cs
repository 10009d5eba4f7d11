using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Trellis.Proxy.Async;
using Trellis.Proxy.Tests.Http.Http1;

namespace Trellis.Proxy.Tests.Async;

[Collection(nameof(AllocationCollection))]
public class PooledValueTaskMethodBuilderTests
{
    private static readonly AsyncLocal<string?> Flowed = new();

    [Fact]
    public async Task Result_WithoutSuspending_IsReturned()
    {
        Assert.Equal(42, await AddOneAsync(Gate.Open(41)));
    }

    [Fact]
    public async Task Result_AfterSuspending_IsReturned()
    {
        var gate = new Gate();
        var call = AddOneAsync(gate);
        Assert.False(call.IsCompleted);

        gate.Release(41);

        Assert.Equal(42, await call);
    }

    [Fact]
    public async Task Exception_WithoutSuspending_IsThrownAtTheAwait()
    {
        var call = FailAsync(Gate.Open(0));

        Assert.True(call.IsFaulted);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await call);
        Assert.Equal("after 0", error.Message);
    }

    [Fact]
    public async Task Exception_AfterSuspending_IsThrownAtTheAwait()
    {
        var gate = new Gate();
        var call = FailAsync(gate);

        gate.Release(7);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await call);
        Assert.Equal("after 7", error.Message);
    }

    [Fact]
    public async Task VoidMethod_AfterSuspending_CompletesAndFails()
    {
        var completing = new Gate();
        var failing = new Gate();
        var completed = WaitAsync(completing, fail: false);
        var failed = WaitAsync(failing, fail: true);
        Assert.False(completed.IsCompleted);

        completing.Release(1);
        failing.Release(1);

        await completed;
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await failed);
        var immediate = WaitAsync(Gate.Open(1), fail: false);
        Assert.True(immediate.IsCompletedSuccessfully);
        await immediate;
    }

    [Fact]
    public async Task ExecutionContext_FlowsAcrossTheSuspension()
    {
        var gate = new Gate();
        Flowed.Value = "caller";
        var call = ReadFlowedAsync(gate);
        Flowed.Value = null;

        // The gate completes on another thread with no value of its own.
        await Task.Run(() => gate.Release(0));

        Assert.Equal("caller", await call);
        Assert.Null(Flowed.Value);
    }

    [Fact]
    public async Task ReusedBoxes_CarryNoStateBetweenCalls()
    {
        for (var i = 0; i < 1000; i++)
        {
            var gate = new Gate();
            var call = AddOneAsync(gate);
            gate.Release(i);
            Assert.Equal(i + 1, await call);
        }
    }

    /// <summary>
    /// The reason for the builder: the proxy resumes every connection on one socket thread, with
    /// hundreds of requests suspended at once. The runtime's pooling builder keeps one free box
    /// per thread and one per core, so this loop allocated 62 of its 64 boxes every round with it;
    /// here the boxes of one round are reused by the next.
    /// </summary>
    [Fact]
    public void ManySuspendedAtOnce_OnOneThread_ReuseTheirBoxes()
    {
        const int InFlight = 64;
        var gates = new Gate[InFlight];
        var calls = new ValueTask<int>[InFlight];
        for (var i = 0; i < InFlight; i++)
        {
            gates[i] = new Gate();
        }

        // Sum of every result, checked after the measurement: Assert.Equal itself allocates.
        long sum = 0;
        void Round()
        {
            for (var i = 0; i < InFlight; i++)
            {
#pragma warning disable CA2012 // Held to be completed together, each consumed once below.
                calls[i] = AddOneAsync(gates[i]);
#pragma warning restore CA2012
            }

            for (var i = 0; i < InFlight; i++)
            {
                gates[i].Release(i);
            }

            for (var i = 0; i < InFlight; i++)
            {
                sum += calls[i].Result;
                gates[i].Reset();
            }
        }

        // As on a socket thread: no synchronization context, so every continuation runs inline
        // on the thread that releases the gate, and each call is complete once its gate is.
        var testContext = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            Round();
            Round();
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var round = 0; round < 100; round++)
            {
                Round();
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(102 * (InFlight * (InFlight + 1) / 2), sum);
            Assert.Equal(0, allocated);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(testContext);
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AddOneAsync(Gate gate) => await gate.WaitAsync() + 1;

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<int> FailAsync(Gate gate)
    {
        var value = await gate.WaitAsync();
        throw new InvalidOperationException($"after {value}");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private static async ValueTask WaitAsync(Gate gate, bool fail)
    {
        await gate.WaitAsync();
        if (fail)
        {
            throw new InvalidOperationException("failed after the wait");
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private static async ValueTask<string?> ReadFlowedAsync(Gate gate)
    {
        await gate.WaitAsync();
        return Flowed.Value;
    }

    /// <summary>A reusable awaitable that completes when released, without allocating.</summary>
    private sealed class Gate : IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;

        public static Gate Open(int value)
        {
            var gate = new Gate();
            gate.Release(value);
            return gate;
        }

        public ValueTask<int> WaitAsync() => new(this, _core.Version);

        public void Release(int value) => _core.SetResult(value);

        public void Reset() => _core.Reset();

        public int GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
