using System.Diagnostics;
using System.Net;
using HdrHistogram;

namespace Trellis.Bench.Load;

/// <summary>
/// Open-loop, constant-rate HTTP/1.1 load over a fixed set of keep-alive connections (the wrk2 model).
/// Each connection owns an absolute schedule (rate / connections, phase-shifted so sends are evenly
/// spread). Coordinated omission is corrected: when a connection is still busy at a request's intended
/// send time, its latency is measured from that intended time, so a stall counts for every request it
/// delayed. When the connection was free and only the generator's own timer woke late, latency is
/// measured from the actual send: that delay is the generator's, not the system's.
/// </summary>
internal static class Http1OpenLoop
{
    public static async Task<PhaseResult> RunAsync(IPEndPoint endpoint, int rate, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        connections = Math.Clamp(connections, 1, rate);
        var intervalTicks = (long)(Stopwatch.Frequency * (double)connections / rate);
        var spreadTicks = intervalTicks / connections;
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50;
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<WorkerResult>[connections];
        for (var c = 0; c < connections; c++)
        {
            workers[c] = RunConnectionAsync(endpoint, start + (c * spreadTicks), intervalTicks, end, cancellationToken);
        }
        var results = await Task.WhenAll(workers);
        var total = PhaseResult.NewHistogram();
        long requests = 0, errors = 0;
        string? firstError = null;
        foreach (var r in results)
        {
            total.Add(r.Histogram);
            requests += r.Requests;
            errors += r.Errors;
            firstError ??= r.FirstError;
        }
        return new PhaseResult(total, requests, errors, duration.TotalSeconds, firstError);
    }

    private static async Task<WorkerResult> RunConnectionAsync(IPEndPoint endpoint, long firstSend, long intervalTicks, long end, CancellationToken cancellationToken)
    {
        var result = new WorkerResult();
        Http1Connection? connection = null;
        var previousDone = 0L;
        try
        {
            for (var intended = firstSend; intended < end; intended += intervalTicks)
            {
                var now = Stopwatch.GetTimestamp();
                if (now < intended)
                {
                    await Task.Delay(TimeSpan.FromSeconds((intended - now) / (double)Stopwatch.Frequency), cancellationToken);
                }
                var sent = Stopwatch.GetTimestamp();
                var measuredFrom = previousDone > intended ? intended : sent;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    connection ??= await Http1Connection.ConnectAsync(endpoint, timeout.Token);
                    await connection.RoundTripAsync(timeout.Token);
                    previousDone = Stopwatch.GetTimestamp();
                    result.Histogram.RecordValue(Math.Max(1, (previousDone - measuredFrom) * 1_000_000 / Stopwatch.Frequency));
                    result.Requests++;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    previousDone = Stopwatch.GetTimestamp();
                    result.Errors++;
                    result.FirstError ??= e.Message;
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
        return result;
    }

    private sealed class WorkerResult
    {
        public HistogramBase Histogram { get; } = PhaseResult.NewHistogram();

        public long Requests { get; set; }

        public long Errors { get; set; }

        public string? FirstError { get; set; }
    }
}
