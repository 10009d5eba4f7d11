using System.Runtime.InteropServices;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// The C heap, where OpenSSL keeps its connections' state. glibc's malloc returns freed memory to
/// the system only from the top of its heap and from large blocks; what a burst of TLS connections
/// freed in the middle stays resident until <c>malloc_trim</c> hands its whole free pages back.
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>Returns the C heap's free pages to the system.</summary>
    /// <remarks>The published proxy targets glibc and binds this when it is linked (DirectPInvoke in its project).</remarks>
    public static void Trim()
    {
        if (OperatingSystem.IsLinux())
        {
            // It answers whether any memory went back; either way there is nothing to do about it.
            _ = MallocTrim(0);
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
