using System.Text;

namespace Trellis.Proxy.Metrics;

/// <summary>
/// A cumulative-bucket histogram. Observations update one bucket, the count and the sum
/// with interlocked operations; cumulative counts are computed only when rendered.
/// </summary>
public sealed class Histogram
{
    private readonly double[] _bounds;
    private readonly long[] _buckets;
    private long _sumBits;

    internal Histogram(string labels, double[] bounds)
    {
        Labels = labels;
        _bounds = bounds;
        _buckets = new long[bounds.Length + 1];
    }

    internal string Labels { get; }

    public long Count
    {
        get
        {
            long count = 0;
            for (var i = 0; i < _buckets.Length; i++)
            {
                count += Interlocked.Read(ref _buckets[i]);
            }

            return count;
        }
    }

    public double Sum => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _sumBits));

    public void Observe(double value)
    {
        var index = 0;
        while (index < _bounds.Length && value > _bounds[index])
        {
            index++;
        }

        Interlocked.Increment(ref _buckets[index]);
        long current, updated;
        do
        {
            current = Interlocked.Read(ref _sumBits);
            updated = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(current) + value);
        }
        while (Interlocked.CompareExchange(ref _sumBits, updated, current) != current);
    }

    internal void WriteTo(StringBuilder output, string name)
    {
        // Labels render as {a="1"}; bucket lines need le appended inside the braces.
        var inner = Labels.Length == 0 ? string.Empty : Labels[1..^1] + ",";
        long cumulative = 0;
        for (var i = 0; i <= _bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _buckets[i]);
            var le = i < _bounds.Length ? MetricFamily.FormatDouble(_bounds[i]) : "+Inf";
            output.Append(name).Append("_bucket{").Append(inner).Append("le=\"").Append(le).Append("\"} ")
                .Append(cumulative).Append('\n');
        }

        // The count is the +Inf bucket, so a scrape racing an observation stays self-consistent.
        output.Append(name).Append("_count").Append(Labels).Append(' ').Append(cumulative).Append('\n');
        output.Append(name).Append("_sum").Append(Labels).Append(' ').Append(MetricFamily.FormatDouble(Sum)).Append('\n');
    }
}

public sealed class HistogramFamily : MetricFamily<Histogram>
{
    private readonly double[] _bounds;

    internal HistogramFamily(string name, string help, double[] bounds, string[] labelNames)
        : base(name, help, "histogram", labelNames)
    {
        _bounds = bounds;
    }

    private protected override Histogram Create(string renderedLabels) => new(renderedLabels, _bounds);

    private protected override void WriteSeries(StringBuilder output)
    {
        foreach (var (_, histogram) in Series)
        {
            histogram.WriteTo(output, Name);
        }
    }
}
