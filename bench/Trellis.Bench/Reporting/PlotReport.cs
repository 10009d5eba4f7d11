using ScottPlot;
using Trellis.Bench.Load;

namespace Trellis.Bench.Reporting;

/// <summary>
/// latency.png (ScottPlot): latency by percentile at 1,000 req/s, one colour per setup, HTTP/1.1
/// solid and gRPC dashed. The x axis is log10(1 / (1 - p)), HdrHistogram's usual view, so the tail
/// (99 %, 99.9 %, 99.99 %) gets as much room as the body.
/// </summary>
internal static class PlotReport
{
    public static void Write(string path, IReadOnlyList<SetupSummary> summaries, RunInfo run)
    {
        var plot = new Plot();
        var colour = 0;
        foreach (var s in summaries)
        {
            var color = plot.Add.Palette.GetColor(colour++);
            foreach (var (protocol, curve) in s.Curves)
            {
                var xs = new List<double>();
                var ys = new List<double>();
                for (var i = 0; i < PhaseResult.Percentiles.Length; i++)
                {
                    var p = PhaseResult.Percentiles[i];
                    if (p >= 100 || double.IsNaN(curve[i]))
                    {
                        continue;
                    }
                    xs.Add(Math.Log10(100.0 / (100.0 - p)));
                    ys.Add(curve[i]);
                }
                var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
                line.Color = color;
                line.LineWidth = 2;
                line.MarkerSize = 4;
                line.LinePattern = protocol == "gRPC" ? LinePattern.Dashed : LinePattern.Solid;
                line.LegendText = $"{s.Label} {protocol}";
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [0, 1, 2, 3, 4],
            ["0%", "90%", "99%", "99.9%", "99.99%"]);
        plot.Title($"Latency by percentile at 1,000 req/s ({(run.Hops == 1 ? "one plaintext hop" : "meshed: two proxies, TLS between")}, {run.Mode})");
        plot.XLabel("percentile");
        plot.YLabel("latency (ms)");
        plot.Axes.SetLimitsX(-0.1, 4.2);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1200, 700);
    }
}
