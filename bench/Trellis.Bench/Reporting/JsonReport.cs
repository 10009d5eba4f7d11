using System.Text.Json;

namespace Trellis.Bench.Reporting;

/// <summary>
/// latest.json: one object per setup name with the medians under latest.json's keys (null where a
/// setup did not produce the figure), its status and failure reason, per-key min–max spreads and
/// per-proxy peaks. Written with Utf8JsonWriter so the key order is stable and readable.
/// </summary>
internal static class JsonReport
{
    public static void Write(string path, RunInfo run, IReadOnlyList<SetupSummary> summaries)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        foreach (var s in summaries)
        {
            json.WriteStartObject(s.Name);
            json.WriteString("label", s.Label);
            json.WriteString("status", s.Status);
            if (s.Error is null)
            {
                json.WriteNull("error");
            }
            else
            {
                json.WriteString("error", s.Error);
            }
            json.WriteNumber("rounds_ok", s.RoundsOk);
            if (s.QuietError is not null)
            {
                json.WriteString("quiet_error", s.QuietError);
            }
            json.WriteNumber("hops", run.Hops);
            json.WriteString("mode", run.Mode);
            foreach (var (key, value) in s.Values)
            {
                WriteValue(json, key, value);
            }
            json.WriteStartObject("spread");
            foreach (var (key, (min, max)) in s.Spread)
            {
                json.WriteStartArray(key);
                json.WriteNumberValue(Round(key, min));
                json.WriteNumberValue(Round(key, max));
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteStartArray("proxies");
            foreach (var (name, rss, anon, idleRss, idleAnon) in s.Proxies)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteNumber("rss_peak_kb", rss);
                json.WriteNumber("anon_peak_kb", anon);
                json.WriteNumber("idle_rss_kb", idleRss);
                json.WriteNumber("idle_anon_kb", idleAnon);
                if (s.QuietProxies.Find(q => q.Name == name) is { } quiet)
                {
                    json.WriteNumber("quiet_rss_kb", quiet.RssKb);
                    json.WriteNumber("quiet_anon_kb", quiet.AnonKb);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>Run metadata beside latest.json (latest.json itself holds only setups).</summary>
    public static void WriteMeta(string path, RunInfo run)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("mode", run.Mode);
        json.WriteString("started", run.Started.ToString("O"));
        json.WriteNumber("hops", run.Hops);
        json.WriteNumber("rounds", run.Rounds);
        json.WriteStartArray("rates");
        foreach (var r in run.Rates)
        {
            json.WriteNumberValue(r);
        }
        json.WriteEndArray();
        json.WriteNumber("phase_seconds", run.PhaseSeconds);
        json.WriteNumber("saturation_seconds", run.SaturationSeconds);
        json.WriteNumber("quiet_seconds", run.QuietSeconds);
        json.WriteString("pinning", run.Pinning);
        json.WriteString("machine", run.Machine);
        json.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter json, string key, double? value)
    {
        if (value is null || double.IsNaN(value.Value) || double.IsInfinity(value.Value))
        {
            json.WriteNull(key);
        }
        else
        {
            json.WriteNumber(key, Round(key, value.Value));
        }
    }

    private static double Round(string key, double value) =>
        key.EndsWith("_kb", StringComparison.Ordinal) || key.StartsWith("max_rps", StringComparison.Ordinal) && !key.Contains("_vs_", StringComparison.Ordinal)
            ? Math.Round(value)
            : Math.Round(value, 4);
}
