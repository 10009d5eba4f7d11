using System.Text;
using System.Text.Json;

namespace Trellis.Cli.Rendering;

/// <summary>Writes indented JSON with <see cref="Utf8JsonWriter"/>: no reflection, stable key order for golden files.</summary>
internal static class Json
{
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            body(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
