using System.Text.Json;
using Trellis.Bench.Load;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Reporting;

/// <summary>rounds.json in the run's directory: every round of every setup as measured, for later digging.</summary>
internal static class RawData
{
    public static void Write(string path, IReadOnlyList<RoundResult> results)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var r in results)
        {
            json.WriteStartObject();
            json.WriteString("setup", r.Setup);
            json.WriteString("protocol", r.Protocol.ToString());
            json.WriteNumber("round", r.Round);
            json.WriteString("error", r.Error);
            json.WriteStartObject("phases");
            foreach (var (rate, phase) in r.Phases)
            {
                json.WriteStartObject(rate.ToString());
                json.WriteNumber("requests", phase.Requests);
                json.WriteNumber("errors", phase.Errors);
                json.WriteNumber("achieved_rps", Math.Round(phase.AchievedRps, 1));
                json.WriteString("first_error", phase.FirstError);
                json.WriteStartObject("latency_ms");
                for (var i = 0; i < PhaseResult.Percentiles.Length; i++)
                {
                    var v = phase.LatencyMsByPercentile[i];
                    var key = PhaseResult.Percentiles[i] >= 100 ? "max" : "p" + PhaseResult.Percentiles[i].ToString("0.##");
                    if (double.IsNaN(v))
                    {
                        json.WriteNull(key);
                    }
                    else
                    {
                        json.WriteNumber(key, v);
                    }
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
            if (r.Saturation is { } s)
            {
                json.WriteStartObject("saturation");
                json.WriteString("tool", s.Tool);
                json.WriteNumber("rps", Math.Round(s.RequestsPerSecond, 1));
                json.WriteNumber("requests", s.Requests);
                json.WriteNumber("errors", s.Errors);
                if (s.Latency is { } latency)
                {
                    json.WriteNumber("p50_ms", latency.P50Ms);
                    json.WriteNumber("p90_ms", latency.P90Ms);
                    json.WriteNumber("p99_ms", latency.P99Ms);
                }
                json.WriteEndObject();
            }
            if (r.CpuSecondsPer10k is { } cpu)
            {
                json.WriteNumber("cpu_s_per_10k", cpu);
            }
            json.WriteStartArray("proxies");
            foreach (var p in r.Proxies)
            {
                json.WriteStartObject();
                json.WriteString("name", p.Name);
                json.WriteNumber("rss_peak_kb", p.PeakRssKb);
                json.WriteNumber("anon_peak_kb", p.PeakAnonKb);
                json.WriteNumber("idle_rss_kb", p.IdleRssKb);
                json.WriteNumber("idle_anon_kb", p.IdleAnonKb);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>quiet.json in the run's directory: the quiet pass, one entry per proxied setup.</summary>
    public static void WriteQuiet(string path, IReadOnlyList<QuietResult> quiet)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var q in quiet)
        {
            json.WriteStartObject();
            json.WriteString("setup", q.Setup);
            json.WriteString("error", q.Error);
            json.WriteStartArray("proxies");
            foreach (var p in q.Proxies)
            {
                json.WriteStartObject();
                json.WriteString("name", p.Name);
                json.WriteNumber("rss_kb", p.RssKb);
                json.WriteNumber("anon_kb", p.AnonKb);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
