using System.Text;

namespace Trellis.Proxy.Metrics;

/// <summary>A monotonically increasing count.</summary>
public sealed class Counter
{
    private long _value;

    internal Counter(string labels)
    {
        Labels = labels;
    }

    internal string Labels { get; }

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long amount) => Interlocked.Add(ref _value, amount);
}

public sealed class CounterFamily : MetricFamily<Counter>
{
    internal CounterFamily(string name, string help, string[] labelNames)
        : base(name, help, "counter", labelNames)
    {
    }

    /// <summary>The sum of every series' count.</summary>
    public long Total()
    {
        var total = 0L;
        foreach (var counter in SeriesInAnyOrder)
        {
            total += counter.Value;
        }

        return total;
    }

    private protected override Counter Create(string renderedLabels) => new(renderedLabels);

    private protected override void WriteSeries(StringBuilder output)
    {
        foreach (var (_, counter) in Series)
        {
            output.Append(Name).Append(counter.Labels).Append(' ').Append(counter.Value).Append('\n');
        }
    }
}
