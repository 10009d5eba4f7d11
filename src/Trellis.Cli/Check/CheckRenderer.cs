using System.Text;
using Trellis.Cli.Rendering;

namespace Trellis.Cli.Check;

/// <summary>Renders check results as text (one line per check, hint under failures) or JSON; no probing here.</summary>
internal static class CheckRenderer
{
    public static string Text(IReadOnlyList<CheckResult> results)
    {
        var text = new StringBuilder();
        string? category = null;
        foreach (var result in results)
        {
            if (result.Category != category)
            {
                if (category is not null)
                {
                    text.Append('\n');
                }

                category = result.Category;
                text.Append(category).Append('\n').Append('-', category.Length).Append('\n');
            }

            var mark = result.Status switch
            {
                CheckStatus.Ok => "[ok]  ",
                CheckStatus.Warning => "[warn]",
                CheckStatus.Error => "[FAIL]",
                _ => "[skip]",
            };
            text.Append(mark).Append(' ').Append(result.Description);
            if (result.Message.Length > 0)
            {
                text.Append(": ").Append(result.Message);
            }

            text.Append('\n');
            if (result.Status is CheckStatus.Error or CheckStatus.Warning)
            {
                text.Append("       hint: ").Append(result.Hint).Append('\n');
            }
        }

        text.Append('\n').Append(CheckRunner.Succeeded(results) ? "Status check results are [ok]\n" : "Status check results are [FAIL]\n");
        return text.ToString();
    }

    public static string JsonText(IReadOnlyList<CheckResult> results) => Json.Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteBoolean("success", CheckRunner.Succeeded(results));
        writer.WriteStartArray("checks");
        foreach (var result in results)
        {
            writer.WriteStartObject();
            writer.WriteString("category", result.Category);
            writer.WriteString("description", result.Description);
            writer.WriteString("result", result.Status switch
            {
                CheckStatus.Ok => "ok",
                CheckStatus.Warning => "warning",
                CheckStatus.Error => "error",
                _ => "skipped",
            });
            writer.WriteString("message", result.Message);
            writer.WriteString("hint", result.Hint);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    });
}
