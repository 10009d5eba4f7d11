using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Trellis.Proxy.Hosting;

namespace Trellis.Proxy.Tests.Hosting;

public sealed partial class StartupPagesTests
{
    private const int ProtectRead = 0x1;
    private const int ProtectWrite = 0x2;
    private const int MapPrivate = 0x02;
    private const nuint PageSize = 4096;

    /// <summary>Measured 2026-12-05: 64 B, the handle of /proc/self/smaps (Debug and Release alike).</summary>
    private const long MaxAllocatedBytes = 256;

    /// <summary>A sample of smaps: the executable's, anonymous, written, shared and kernel mappings, and last a library's.</summary>
    private const string Smaps = """
        55d0c0000000-55d0c0013000 r--p 00000000 08:01 1234 /usr/bin/trellis-proxy
        Size:                 76 kB
        Rss:                  72 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55d0c0013000-55d0c057d000 r-xp 00013000 08:01 1234 /usr/bin/trellis-proxy
        Rss:                2968 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        55d0c0a32000-55d0c0a33000 r--p 00a31000 08:01 1234 /usr/bin/trellis-proxy
        Rss:                   4 kB
        Anonymous:             4 kB
        55d0c0a33000-55d0c0a56000 rw-p 00a32000 08:01 1234 /usr/bin/trellis-proxy
        Rss:                 140 kB
        Anonymous:            16 kB
        7f0000000000-7f0000100000 rw-p 00000000 00:00 0
        Rss:                2456 kB
        Anonymous:          2456 kB
        7f0000200000-7f0000300000 r--s 00000000 00:01 77 /memfd:doublemapper (deleted)
        Rss:                  64 kB
        Anonymous:             0 kB
        7f0000600000-7f0000700000 r--p 00000000 08:01 98 /usr/lib/x86_64-linux-gnu/libcrypto.so.3
        Rss:                   0 kB
        Anonymous:             0 kB
        7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0 [vdso]
        Rss:                   8 kB
        Anonymous:             0 kB
        7f0000400000-7f0000500000 r-xp 00028000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
        Rss:                 896 kB
        Anonymous:             0 kB
        """;

    private static readonly StartupPages.ReleasableMapping[] ReleasableInSample =
    [
        new(0x55d0c0000000, 0x55d0c0013000, 72 * 1024),
        new(0x55d0c0013000, 0x55d0c057d000, 2968 * 1024),
        new(0x7f0000400000, 0x7f0000500000, 896 * 1024),
    ];

    /// <summary>
    /// Only clean, read-only, private mappings of a file with pages resident; read a chunk at a time
    /// (a test host's smaps runs to megabytes), lines split across chunks (97 bytes) or not (4 KiB).
    /// </summary>
    [Theory]
    [InlineData(97)]
    [InlineData(4096)]
    public void Scan_OnlyCleanReadOnlyPrivateFileMappingsWithResidentPages(int bufferSize)
    {
        using var file = new TemporaryFile(Encoding.ASCII.GetBytes(Smaps));
        using var handle = File.OpenHandle(file.Path);
        var releasable = new List<StartupPages.ReleasableMapping>();

        var released = StartupPages.Scan(handle, new byte[bufferSize], mapping =>
        {
            releasable.Add(mapping);
            return mapping.ResidentBytes;
        });

        Assert.Equal(ReleasableInSample, releasable);
        Assert.Equal((72 + 2968 + 896) * 1024, released);
    }

    [Fact]
    public void Release_ReadOnlyFileMapping_LeavesResidentSetAndReadsTheSameBytes()
    {
        using var file = new TemporaryFile(PagesOf((byte)'a', (byte)'b', (byte)'c', (byte)'d'));
        var mapping = Map(file, pages: 4, ProtectRead);
        try
        {
            var before = ReadEveryPage(mapping, pages: 4);
            Assert.Equal(4 * (long)PageSize, ResidentBytes(mapping));

            var released = StartupPages.Release();

            Assert.True(released >= 4 * (long)PageSize, $"released {released} bytes");
            Assert.Equal(0, ResidentBytes(mapping));
            Assert.Equal(before, ReadEveryPage(mapping, pages: 4));
        }
        finally
        {
            _ = Unmap(mapping, 4 * PageSize);
        }
    }

    /// <summary>It runs after the start-up collection: what it allocates stays committed until the next one.</summary>
    [Fact]
    public void Release_AllocatesOnlyAFileHandle()
    {
        _ = StartupPages.Release();

        var before = GC.GetAllocatedBytesForCurrentThread();
        _ = StartupPages.Release();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated <= MaxAllocatedBytes, $"allocated {allocated} bytes, bound {MaxAllocatedBytes}");
    }

    /// <summary>A page written and then made read-only, as the loader does to relocated tables: releasing it would lose the write.</summary>
    [Fact]
    public void Release_ReadOnlyMappingWithAWrittenPage_KeepsTheWrite()
    {
        using var file = new TemporaryFile(PagesOf((byte)'a', (byte)'b'));
        var mapping = Map(file, pages: 2, ProtectRead | ProtectWrite);
        try
        {
            Marshal.WriteByte(mapping, (byte)'z');
            Assert.Equal(0, Protect(mapping, 2 * PageSize, ProtectRead));

            _ = StartupPages.Release();

            Assert.Equal((byte)'z', Marshal.ReadByte(mapping));
            Assert.Equal((byte)'b', Marshal.ReadByte(mapping + (nint)PageSize));
        }
        finally
        {
            _ = Unmap(mapping, 2 * PageSize);
        }
    }

    private static byte[] PagesOf(params byte[] fills) =>
        [.. fills.SelectMany(fill => Enumerable.Repeat(fill, (int)PageSize))];

    private static nint Map(TemporaryFile file, int pages, int protection)
    {
        using var handle = File.OpenHandle(file.Path);
        var mapping = MapFile(0, (nuint)pages * PageSize, protection, MapPrivate, (int)handle.DangerousGetHandle(), 0);
        Assert.NotEqual(-1, mapping);
        return mapping;
    }

    private static byte[] ReadEveryPage(nint mapping, int pages) =>
        [.. Enumerable.Range(0, pages).Select(page => Marshal.ReadByte(mapping + (page * (nint)PageSize)))];

    /// <summary>The Rss of the mapping that starts at <paramref name="mapping"/>, from this process's smaps.</summary>
    private static long ResidentBytes(nint mapping)
    {
        var start = ((ulong)mapping).ToString("x", CultureInfo.InvariantCulture) + "-";
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.StartsWith(start, StringComparison.Ordinal))
            {
                inMapping = true;
            }
            else if (inMapping && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                return long.Parse(line["Rss:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no mapping at {start} in /proc/self/smaps");
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MapFile(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Protect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Unmap(nint address, nuint length);

    private sealed class TemporaryFile : IDisposable
    {
        public TemporaryFile(byte[] contents)
        {
            Path = System.IO.Path.GetTempFileName();
            File.WriteAllBytes(Path, contents);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }
}
