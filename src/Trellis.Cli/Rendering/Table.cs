using System.Text;

namespace Trellis.Cli.Rendering;

/// <summary>A plain, left-aligned table with an upper-case header, as kubectl prints them.</summary>
internal sealed class Table
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    public Table(params string[] headers) => _headers = headers;

    public int Count => _rows.Count;

    public void Add(params string[] cells) => _rows.Add(cells);

    public string Render()
    {
        var widths = new int[_headers.Length];
        for (var i = 0; i < _headers.Length; i++)
        {
            widths[i] = _headers[i].Length;
            foreach (var row in _rows)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        AppendRow(text, _headers, widths);
        foreach (var row in _rows)
        {
            AppendRow(text, row, widths);
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 3));
        }

        text.Append('\n');
    }
}
