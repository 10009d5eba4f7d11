using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Trellis.Proxy.Metrics;

/// <summary>A named metric with one series per distinct set of label values.</summary>
public abstract class MetricFamily
{
    private protected MetricFamily(string name, string help, string type, string[] labelNames)
    {
        Name = name;
        Help = help;
        Type = type;
        LabelNames = labelNames;
    }

    public string Name { get; }

    public string Help { get; }

    public string Type { get; }

    public IReadOnlyList<string> LabelNames { get; }

    internal void WriteTo(StringBuilder output)
    {
        output.Append("# HELP ").Append(Name).Append(' ').Append(Help).Append('\n');
        output.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
        WriteSeries(output);
    }

    private protected abstract void WriteSeries(StringBuilder output);

    /// <summary>Renders <c>{a="1",b="2"}</c> once per series, escaping as the text format requires.</summary>
    private protected string RenderLabels(string[] values)
    {
        if (values.Length != LabelNames.Count)
        {
            throw new ArgumentException($"{Name} takes {LabelNames.Count} label values, got {values.Length}.", nameof(values));
        }

        if (values.Length == 0)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        builder.Append('{');
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }

            builder.Append(LabelNames[i]).Append("=\"");
            foreach (var c in values[i])
            {
                _ = c switch
                {
                    '\\' => builder.Append("\\\\"),
                    '"' => builder.Append("\\\""),
                    '\n' => builder.Append("\\n"),
                    _ => builder.Append(c),
                };
            }

            builder.Append('"');
        }

        builder.Append('}');
        return builder.ToString();
    }

    internal static string FormatDouble(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A family whose series are created on first use and kept for the process's life.</summary>
public abstract class MetricFamily<TSeries> : MetricFamily
    where TSeries : class
{
    private readonly ConcurrentDictionary<string, TSeries> _series = new(StringComparer.Ordinal);

    private protected MetricFamily(string name, string help, string type, string[] labelNames)
        : base(name, help, type, labelNames)
    {
    }

    /// <summary>
    /// Returns the series for these label values. Callers on a hot path bind once (per
    /// connection or per target) and keep the handle.
    /// </summary>
    public TSeries WithLabels(params string[] values)
    {
        var key = RenderLabels(values);
        return _series.GetOrAdd(key, static (k, family) => family.Create(k), this);
    }

    private protected abstract TSeries Create(string renderedLabels);

    private protected IEnumerable<KeyValuePair<string, TSeries>> Series =>
        _series.OrderBy(s => s.Key, StringComparer.Ordinal);

    /// <summary>Every series, unsorted: for sums, which do not need the exposition's order.</summary>
    private protected IEnumerable<TSeries> SeriesInAnyOrder => _series.Select(s => s.Value);
}
