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

    /// <summary>How much of smaps is read at a time; a line (at most a path) always fits.</summary>
    private const int ChunkSize = 64 * 1024;

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

        var buffer = NativeMemory.Alloc(ChunkSize);
        try
        {
            using var smaps = File.OpenHandle("/proc/self/smaps");
            return Scan(smaps, new Span<byte>(buffer, ChunkSize), static mapping =>
                Advise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), DontNeed) == 0 ? mapping.ResidentBytes : 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>
    /// Reads <paramref name="smaps"/> (the format of /proc/PID/smaps) through <paramref name="buffer"/>,
    /// a chunk at a time, and calls <paramref name="release"/> with each mapping that may be released;
    /// returns the sum of what it returned. A mapping is released as soon as its lines are read: that
    /// changes page tables, not the list of mappings being read.
    /// </summary>
    internal static long Scan(Microsoft.Win32.SafeHandles.SafeFileHandle smaps, Span<byte> buffer, Func<ReleasableMapping, long> release)
    {
        var scanner = new SmapsScanner();
        var released = 0L;
        var offset = 0L;
        var kept = 0;
        while (true)
        {
            var read = RandomAccess.Read(smaps, buffer[kept..], offset);
            offset += read;
            var text = buffer[..(kept + read)];
            while (text.IndexOf((byte)'\n') is var newline and >= 0)
            {
                released += scanner.Accept(text[..newline]) is { } mapping ? release(mapping) : 0;
                text = text[(newline + 1)..];
            }

            if (read == 0)
            {
                // The end; a last line without a newline ends there.
                released += scanner.Accept(text) is { } mapping ? release(mapping) : 0;
                break;
            }

            if (text.Length == buffer.Length)
            {
                // A line longer than the buffer, which no smaps has: what was read whole is released, the rest left.
                break;
            }

            text.CopyTo(buffer);
            kept = text.Length;
        }

        return released + (scanner.Finish() is { } last ? release(last) : 0);
    }

    /// <summary>
    /// Follows smaps line by line: a mapping's header (<c>start-end perms offset dev inode [path]</c>)
    /// and then its fields. A mapping may be released when it is a read-only private mapping of a
    /// file (not an anonymous or kernel one such as [vdso] or [heap]) with pages resident and none
    /// anonymous; that is known at the next header, or at the end.
    /// </summary>
    private struct SmapsScanner()
    {
        private ulong _start;
        private ulong _end;
        private bool _readOnlyFile;
        private long _residentKb;
        private long _anonymousKb = -1;

        /// <summary>Takes one line; returns the previous mapping when this line's header ends it and it may be released.</summary>
        public ReleasableMapping? Accept(ReadOnlySpan<byte> line)
        {
            if (TryParseHeader(line, out var start, out var end, out var readOnlyFile))
            {
                var previous = Finish();
                (_start, _end, _readOnlyFile) = (start, end, readOnlyFile);
                return previous;
            }

            if (_readOnlyFile)
            {
                _residentKb = Field(line, "Rss:"u8) ?? _residentKb;
                _anonymousKb = Field(line, "Anonymous:"u8) ?? _anonymousKb;
            }

            return null;
        }

        /// <summary>Ends the current mapping; returns it when it may be released.</summary>
        public ReleasableMapping? Finish()
        {
            var releasable = _readOnlyFile && _residentKb > 0 && _anonymousKb == 0
                ? new ReleasableMapping(_start, _end, _residentKb * 1024)
                : (ReleasableMapping?)null;
            (_readOnlyFile, _residentKb, _anonymousKb) = (false, 0, -1);
            return releasable;
        }

        private static bool TryParseHeader(ReadOnlySpan<byte> line, out ulong start, out ulong end, out bool readOnlyFile)
        {
            start = end = 0;
            readOnlyFile = false;
            var space = line.IndexOf((byte)' ');
            var dash = line.IndexOf((byte)'-');
            if (space < 0 || dash <= 0 || dash > space || line.Length < space + 5
                || !ulong.TryParse(line[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
                || !ulong.TryParse(line[(dash + 1)..space], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end))
            {
                return false;
            }

            var permissions = line.Slice(space + 1, 4);
            readOnlyFile = permissions[0] == 'r' && permissions[1] == '-' && permissions[3] == 'p' && line.IndexOf((byte)'/') > space;
            return true;
        }

        /// <summary>The kB figure of a field line such as <c>Rss:  1234 kB</c>, or null when the line is another field.</summary>
        private static long? Field(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name) =>
            line.StartsWith(name) && long.TryParse(line[name.Length..].Trim(" kB"u8), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : null;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(nint address, nuint length, int advice);

    /// <summary>A mapping's address range and the bytes resident in it.</summary>
    internal readonly record struct ReleasableMapping(ulong Start, ulong End, long ResidentBytes);
}
