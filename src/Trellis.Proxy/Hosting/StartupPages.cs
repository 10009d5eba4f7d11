using System.Globalization;
using System.Runtime.InteropServices;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// Start-up runs code that a running proxy never runs again: parsing flags, reading the identity,
/// building the stacks, and above all OpenSSL's initialisation, which walks its providers and error
/// tables and leaves about 4 MB of libcrypto resident. The kernel also maps 64 KiB around every page
/// a process touches, so those pages stay in the resident set for the proxy's whole life.
/// <see cref="Release"/> unmaps every clean page of the process's read-only file mappings
/// (<c>madvise(MADV_DONTNEED)</c>): code and constants of the executable and of every library. The
/// page cache keeps them, so code that does run again faults its pages back in from memory; only
/// what a running proxy uses comes back.
/// </summary>
/// <remarks>
/// <c>MADV_DONTNEED</c> on a private file mapping discards the process's own copy of a page, so a
/// mapping that ever held a written page (a relocated table made read-only afterwards, counted as
/// <c>Anonymous</c> in smaps) would revert to the file's bytes. Only read-only mappings of a file
/// with no anonymous page at all are released; nothing in the process writes to such a mapping.
/// </remarks>
internal static partial class StartupPages
{
    private const int DontNeed = 4; // MADV_DONTNEED

    /// <summary>Room for this process's smaps, read whole so that lines can be parsed in place (a proxy's is ~60 KB); a larger one releases nothing.</summary>
    private const int SmapsCapacity = 1 << 20;

    /// <summary>Releases this process's clean read-only file pages; returns the bytes that were resident in them.</summary>
    /// <remarks>
    /// smaps is read into native memory (freed, and unmapped, on return) and parsed in place, so this
    /// can follow the start-up collection without leaving new garbage committed behind it (read line
    /// by line into strings, the ~60 KB file would become twice that in UTF-16, and more).
    /// </remarks>
    public static unsafe long Release()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var buffer = (byte*)NativeMemory.Alloc(SmapsCapacity);
        try
        {
            var smaps = new Span<byte>(buffer, SmapsCapacity);
            var length = ReadSmaps(smaps);
            var released = 0L;
            foreach (var mapping in new ReleasableMappings(smaps[..length]))
            {
                if (Advise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), DontNeed) == 0)
                {
                    released += mapping.ResidentBytes;
                }
            }

            return released;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>Reads /proc/self/smaps into <paramref name="buffer"/>; returns its length, 0 when it cannot be read whole.</summary>
    private static int ReadSmaps(Span<byte> buffer)
    {
        try
        {
            using var smaps = File.OpenHandle("/proc/self/smaps");
            var length = 0;
            while (length < buffer.Length && RandomAccess.Read(smaps, buffer[length..], length) is var read and > 0)
            {
                length += read;
            }

            return length < buffer.Length ? length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// The mappings in <paramref name="smaps"/> (the format of /proc/PID/smaps) that <see cref="Release"/>
    /// may release: read-only private mappings of a file, with pages resident and none anonymous.
    /// </summary>
    internal ref struct ReleasableMappings(ReadOnlySpan<byte> smaps)
    {
        private ReadOnlySpan<byte> _rest = smaps;
        private ReleasableMapping _next;

        public readonly ReleasableMappings GetEnumerator() => this;

        public readonly ReleasableMapping Current => _next;

        public bool MoveNext()
        {
            while (!_rest.IsEmpty)
            {
                if (TryParseHeader(NextLine(), out var start, out var end, out var readOnlyFile) && readOnlyFile)
                {
                    // The header's fields follow it, up to the next header.
                    long resident = 0, anonymous = -1;
                    while (!_rest.IsEmpty && !StartsHeader(_rest))
                    {
                        var line = NextLine();
                        resident = Field(line, "Rss:"u8) ?? resident;
                        anonymous = Field(line, "Anonymous:"u8) ?? anonymous;
                    }

                    if (resident > 0 && anonymous == 0)
                    {
                        _next = new ReleasableMapping(start, end, resident * 1024);
                        return true;
                    }
                }
            }

            return false;
        }

        private ReadOnlySpan<byte> NextLine()
        {
            var newline = _rest.IndexOf((byte)'\n');
            var line = newline < 0 ? _rest : _rest[..newline];
            _rest = newline < 0 ? default : _rest[(newline + 1)..];
            return line;
        }

        /// <summary>A mapping's header starts with its hexadecimal address range; a field line with a name and a colon.</summary>
        private static bool StartsHeader(ReadOnlySpan<byte> text) => char.IsAsciiHexDigit((char)text[0]) && text.IndexOfAny((byte)'-', (byte)':') is var at and >= 0 && text[at] == '-';

        /// <summary>A header, <c>start-end perms offset dev inode [path]</c>; a read-only private mapping of a file, not an anonymous or kernel one ([vdso], [heap]).</summary>
        private static bool TryParseHeader(ReadOnlySpan<byte> line, out ulong start, out ulong end, out bool readOnlyFile)
        {
            start = end = 0;
            readOnlyFile = false;
            var space = line.IndexOf((byte)' ');
            var dash = line.IndexOf((byte)'-');
            if (space < 0 || dash < 0 || dash > space
                || !ulong.TryParse(line[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
                || !ulong.TryParse(line[(dash + 1)..space], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end)
                || line.Length < space + 5)
            {
                return false;
            }

            var permissions = line.Slice(space + 1, 4);
            var path = line.IndexOf((byte)'/');
            readOnlyFile = permissions[0] == 'r' && permissions[1] == '-' && permissions[3] == 'p' && path > space;
            return true;
        }

        /// <summary>The kB figure of a field line such as <c>Rss:  1234 kB</c>, or null when the line is another field.</summary>
        private static long? Field(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name) =>
            line.StartsWith(name) && line[name.Length..].Trim(" kB"u8) is var figure
            && long.TryParse(figure, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : null;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(nint address, nuint length, int advice);

    /// <summary>A mapping's address range and the bytes resident in it.</summary>
    internal readonly record struct ReleasableMapping(ulong Start, ulong End, long ResidentBytes);
}
