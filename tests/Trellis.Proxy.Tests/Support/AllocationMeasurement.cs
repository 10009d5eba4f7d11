using System.Diagnostics;
using System.IO.Pipelines;
using System.Reflection;
using System.Runtime.CompilerServices;
using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Tests;

/// <summary>What the tests that hold the proxy's allocations per request share.</summary>
internal static class AllocationMeasurement
{
    /// <summary>
    /// Fails unless <paramref name="bytesPerUnit"/> is under the bound for the proxy's build:
    /// Debug builds emit async state machines as classes, one allocation per async call, so they
    /// get a bound of their own.
    /// </summary>
    public static void AssertUnder(double bytesPerUnit, double releaseBound, double debugBound, string unit)
    {
        var optimized = typeof(Http1Forwarder).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true;
        var bound = optimized ? releaseBound : debugBound;
        Assert.True(bytesPerUnit < bound, $"{bytesPerUnit:F1} bytes per {unit} (bound {bound}, optimized build: {optimized})");
    }

    /// <summary>
    /// Consumes exactly <paramref name="count"/> bytes; false if the pipe ends first. Pooled, so
    /// the measuring side allocates nothing per call itself.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> ReadExactlyAsync(PipeReader reader, int count)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.Buffer.Length >= count)
            {
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return true;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                return false;
            }
        }
    }
}
