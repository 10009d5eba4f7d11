using System.Text;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// The proxy's metric families and their Prometheus text exposition (format 0.0.4).
/// Written by hand rather than with System.Diagnostics.Metrics listeners or prometheus-net:
/// the hot path holds pre-bound series and increments them with one interlocked add, with no
/// tag arrays to allocate per request, and prometheus-net does not support NativeAOT.
/// </summary>
public sealed class MetricsRegistry
{
    private readonly List<MetricFamily> _families = [];
    private readonly Lock _lock = new();

    public CounterFamily Counter(string name, string help, params string[] labelNames) =>
        Add(new CounterFamily(name, help, labelNames));

    public GaugeFamily Gauge(string name, string help, params string[] labelNames) =>
        Add(new GaugeFamily(name, help, labelNames));

    public HistogramFamily Histogram(string name, string help, double[] bounds, params string[] labelNames) =>
        Add(new HistogramFamily(name, help, bounds, labelNames));

    /// <summary>Writes every family in registration order.</summary>
    public void WriteTo(StringBuilder output)
    {
        lock (_lock)
        {
            foreach (var family in _families)
            {
                family.WriteTo(output);
            }
        }
    }

    public string Render()
    {
        var output = new StringBuilder(4096);
        WriteTo(output);
        return output.ToString();
    }

    private T Add<T>(T family)
        where T : MetricFamily
    {
        lock (_lock)
        {
            _families.Add(family);
        }

        return family;
    }
}
