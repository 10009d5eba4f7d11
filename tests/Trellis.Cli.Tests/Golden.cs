using System.Runtime.CompilerServices;

namespace Trellis.Cli.Tests;

/// <summary>Compares text with testdata/NAME; TRELLIS_UPDATE_GOLDEN=1 rewrites the file in the source tree instead.</summary>
internal static class Golden
{
    public static void Assert(string name, string actual, [CallerFilePath] string caller = "")
    {
        var root = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(root, "Trellis.Cli.Tests.csproj")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        var path = Path.Combine(root, "testdata", name);
        if (Environment.GetEnvironmentVariable("TRELLIS_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }

        Xunit.Assert.True(File.Exists(path), $"missing golden file {path}; run with TRELLIS_UPDATE_GOLDEN=1");
        Xunit.Assert.Equal(File.ReadAllText(path), actual);
    }
}
