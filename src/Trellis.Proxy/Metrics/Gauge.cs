using System.Text;

namespace Trellis.Proxy.Metrics;

/// <summary>A value that goes up and down, such as open connections.</summary>
public sealed class Gauge
{
    private long _value;

    internal Gauge(string labels)
    {
        Labels = labels;
    }

    internal string Labels { get; }

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Decrement() => Interlocked.Decrement(ref _value);

    public void Set(long value) => Interlocked.Exchange(ref _value, value);
}

public sealed class GaugeFamily : MetricFamily<Gauge>
{
    internal GaugeFamily(string name, string help, string[] labelNames)
        : base(name, help, "gauge", labelNames)
    {
    }

    private protected override Gauge Create(string renderedLabels) => new(renderedLabels);

    private protected override void WriteSeries(StringBuilder output)
    {
        foreach (var (_, gauge) in Series)
        {
            output.Append(Name).Append(gauge.Labels).Append(' ').Append(gauge.Value).Append('\n');
        }
    }
}
