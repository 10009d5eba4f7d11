using System.Text.RegularExpressions;

namespace Trellis.Testing;

/// <summary>Reads a proxy's admin endpoints.</summary>
public static partial class MetricsText
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static Task<string> MetricsAsync(this ProxyProcess proxy) =>
        Client.GetStringAsync(new Uri(proxy.AdminUri, "metrics"));

    /// <summary>The value of one series in Prometheus text, or null when the series is absent.</summary>
    public static double? Series(string metricsText, string seriesWithLabels)
    {
        foreach (var line in metricsText.Split('\n'))
        {
            if (line.StartsWith(seriesWithLabels + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(seriesWithLabels.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Sums every series of a metric whose labels contain all the given label pairs.</summary>
    public static double Sum(string metricsText, string metric, params string[] labelPairs)
    {
        var total = 0.0;
        foreach (Match match in SeriesLine().Matches(metricsText))
        {
            if (match.Groups["name"].Value == metric && labelPairs.All(p => match.Groups["labels"].Value.Contains(p, StringComparison.Ordinal)))
            {
                total += double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[^}]*\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}
