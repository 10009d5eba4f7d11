using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Trellis.Bench.Protos;

namespace Trellis.Bench.Load;

/// <summary>
/// Open-loop, constant-rate gRPC unary load (Grpc.Net.Client over h2c, one HTTP/2 connection).
/// One schedule fires calls at absolute intended times without waiting for earlier calls, so the
/// system under test can never hold the schedule back (no coordinated omission by construction);
/// each call is timed from its actual send, excluding the generator's own timer lateness. The
/// schedule runs on its own thread, paced like the HTTP/1.1 open loop.
/// </summary>
internal static class GrpcOpenLoop
{
    private static readonly ByteString Payload = ByteString.CopyFrom(new byte[32]);

    public static GrpcChannel CreateChannel(IPEndPoint endpoint) => GrpcChannel.ForAddress(
        $"http://{endpoint}",
        new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true },
            DisposeHttpClient = true,
        });

    /// <summary>One call, used to check that a setup forwards gRPC before measuring it.</summary>
    public static async Task ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var channel = CreateChannel(endpoint);
        var client = new Echo.EchoClient(channel);
        var reply = await client.EchoAsync(new EchoMessage { Payload = Payload }, deadline: DeadlineIn(5), cancellationToken: cancellationToken);
        if (reply.Payload.Length != Payload.Length)
        {
            throw new IOException("gRPC echo returned a different payload");
        }
    }

    public static async Task<PhaseResult> RunAsync(IPEndPoint endpoint, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        using var channel = CreateChannel(endpoint);
        var client = new Echo.EchoClient(channel);
        try
        {
            await client.EchoAsync(new EchoMessage { Payload = Payload }, deadline: DeadlineIn(5), cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // A phase stopped during its opening call ends like one stopped on schedule.
            throw new OperationCanceledException(cancellationToken);
        }
        var state = new State();
        var intervalTicks = Stopwatch.Frequency / (double)rate;
        var start = Stopwatch.GetTimestamp();
        var count = (long)(rate * duration.TotalSeconds);
        var calls = await Task.Factory.StartNew(
            () => FireOnSchedule(client, state, start, intervalTicks, count, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        await Task.WhenAll(calls);
        return new PhaseResult(state.Histogram, state.Requests, state.Errors, duration.TotalSeconds, state.FirstError)
        {
            WorstAtSeconds = state.WorstMicros > 0 ? state.WorstDue / (double)Stopwatch.Frequency : double.NaN,
        };
    }

    /// <summary>
    /// Starts each call at its intended time from a thread of its own, sleeping with
    /// clock_nanosleep in between: awaiting Task.Delay fired calls in bursts, as the runtime's timers
    /// fire together every few milliseconds on the generator's shared core.
    /// </summary>
    private static List<Task> FireOnSchedule(Echo.EchoClient client, State state, long start, double intervalTicks, long count, CancellationToken cancellationToken)
    {
        var calls = new List<Task>((int)Math.Min(count, 1_000_000));
        for (long i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
        {
            var intended = start + (long)(i * intervalTicks);
            MonotonicClock.SleepUntil(intended);
            calls.Add(CallAsync(client, state, intended - start, cancellationToken));
        }
        cancellationToken.ThrowIfCancellationRequested();
        return calls;
    }

    private static async Task CallAsync(Echo.EchoClient client, State state, long due, CancellationToken cancellationToken)
    {
        var sent = Stopwatch.GetTimestamp();
        try
        {
            await client.EchoAsync(new EchoMessage { Payload = Payload }, deadline: DeadlineIn(5), cancellationToken: cancellationToken);
            var micros = Math.Max(1, (Stopwatch.GetTimestamp() - sent) * 1_000_000 / Stopwatch.Frequency);
            lock (state)
            {
                state.Histogram.RecordValue(micros);
                state.Requests++;
                if (micros > state.WorstMicros)
                {
                    state.WorstMicros = micros;
                    state.WorstDue = due;
                }
            }
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            lock (state)
            {
                state.Errors++;
                state.FirstError ??= e.Status.ToString();
            }
        }
    }

    // Grpc deadlines are wall-clock by API; the banned-symbol rule targets measured time, which uses Stopwatch here.
#pragma warning disable RS0030
    private static DateTime DeadlineIn(int seconds) => DateTime.UtcNow.AddSeconds(seconds);
#pragma warning restore RS0030

    private sealed class State
    {
        public HdrHistogram.HistogramBase Histogram { get; } = PhaseResult.NewHistogram();

        public long Requests { get; set; }

        public long Errors { get; set; }

        public string? FirstError { get; set; }

        public long WorstMicros { get; set; }

        public long WorstDue { get; set; }
    }
}
