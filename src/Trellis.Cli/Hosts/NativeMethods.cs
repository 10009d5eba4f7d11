using System.Runtime.InteropServices;

namespace Trellis.Cli.Hosts;

internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chown(string path, int owner, int group);
}
