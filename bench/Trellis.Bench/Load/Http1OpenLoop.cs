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
/// Each connection runs on its own thread and sleeps to its next send with an absolute
/// clock_nanosleep: awaiting Task.Delay instead sent in bursts (the runtime's timers fire together,
/// every 3-5 ms on the generator's shared core), so "1,000 req/s" arrived as four requests at once.
/// </summary>
internal static class Http1OpenLoop
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public static async Task<PhaseResult> RunAsync(IPEndPoint endpoint, int rate, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1);
        connections = Math.Clamp(connections, 1, rate);
        var intervalTicks = (long)(Stopwatch.Frequency * (double)connections / rate);
        var spreadTicks = intervalTicks / connections;
        // Connections are opened, and each carries one untimed request, before the schedule starts:
        // otherwise the first request of every connection also times the TCP connect, the proxy's
        // upstream connect and any mesh TLS handshake, and at 100 req/s over 8 connections those 8
        // requests are the whole p99 (one phase = 200 requests). A phase measures steady state.
        var opened = await OpenAsync(endpoint, connections, cancellationToken);
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50;
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<WorkerResult>[connections];
        for (var c = 0; c < connections; c++)
        {
            var (connection, firstSend) = (opened[c], start + (c * spreadTicks));
            workers[c] = Task.Factory.StartNew(
                () => RunConnection(endpoint, connection, firstSend, intervalTicks, end, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }
        var results = await Task.WhenAll(workers);
        var total = PhaseResult.NewHistogram();
        long requests = 0, errors = 0;
        string? firstError = null;
        var worst = results.MaxBy(r => r.WorstMicros)!;
        foreach (var r in results)
        {
            total.Add(r.Histogram);
            requests += r.Requests;
            errors += r.Errors;
            firstError ??= r.FirstError;
        }
        return new PhaseResult(total, requests, errors, duration.TotalSeconds, firstError)
        {
            WorstAtSeconds = worst.WorstMicros > 0 ? (worst.WorstDue - start) / (double)Stopwatch.Frequency : double.NaN,
        };
    }

    /// <summary>
    /// Opens the phase's connections and makes one untimed round trip on each. A connection that
    /// cannot be opened is left null: its worker retries inside the schedule and counts the errors.
    /// </summary>
    private static async Task<Http1Connection?[]> OpenAsync(IPEndPoint endpoint, int connections, CancellationToken cancellationToken)
    {
        var opened = new Http1Connection?[connections];
        for (var c = 0; c < connections; c++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            Http1Connection? connection = null;
            try
            {
                connection = await Http1Connection.ConnectAsync(endpoint, timeout.Token);
                connection.RoundTrip(RequestTimeout);
                opened[c] = connection;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                connection?.Dispose();
            }
        }
        return opened;
    }

    private static WorkerResult RunConnection(IPEndPoint endpoint, Http1Connection? connection, long firstSend, long intervalTicks, long end, CancellationToken cancellationToken)
    {
        var result = new WorkerResult();
        var previousDone = 0L;
        try
        {
            for (var intended = firstSend; intended < end && !cancellationToken.IsCancellationRequested; intended += intervalTicks)
            {
                MonotonicClock.SleepUntil(intended);
                var sent = Stopwatch.GetTimestamp();
                var measuredFrom = previousDone > intended ? intended : sent;
                try
                {
                    connection ??= Reconnect(endpoint, cancellationToken);
                    connection.RoundTrip(RequestTimeout);
                    previousDone = Stopwatch.GetTimestamp();
                    var micros = Math.Max(1, (previousDone - measuredFrom) * 1_000_000 / Stopwatch.Frequency);
                    result.Histogram.RecordValue(micros);
                    if (micros > result.WorstMicros)
                    {
                        result.WorstMicros = micros;
                        result.WorstDue = intended;
                    }
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
        cancellationToken.ThrowIfCancellationRequested();
        return result;
    }

    private static Http1Connection Reconnect(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        return Http1Connection.ConnectAsync(endpoint, timeout.Token).GetAwaiter().GetResult();
    }

    private sealed class WorkerResult
    {
        public HistogramBase Histogram { get; } = PhaseResult.NewHistogram();

        public long Requests { get; set; }

        public long Errors { get; set; }

        public string? FirstError { get; set; }

        public long WorstMicros { get; set; }

        public long WorstDue { get; set; }
    }
}
