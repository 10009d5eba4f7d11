using Trellis.Controller.State;

namespace Trellis.Controller.Tests;

/// <summary>A state directory under /tmp removed when the test ends.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "trellis-test-" + Guid.NewGuid().ToString("N"));
        State = new StateDirectory(Path);
    }

    public string Path { get; }

    public StateDirectory State { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
