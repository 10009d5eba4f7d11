using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// NativeAOT ships the binary's preinitialised runtime data (type descriptors, dispatch maps,
/// frozen objects) compressed ("dehydrated") in the read-only section and expands it into a
/// writable section before <c>Main</c>. The compressed copy (1.2 MB in this proxy) is never read
/// again, yet expanding it read every page of it, so it stays in the process's resident set for
/// as long as the proxy runs. <see cref="Release"/> drops those pages from this process's mapping
/// (<c>madvise(MADV_DONTNEED)</c>), then asks the kernel to drop them from the page cache as well
/// (<c>posix_fadvise(POSIX_FADV_DONTNEED)</c>, which leaves alone any page another process still
/// maps): the RSS figure and the memory behind it both shrink. They are clean pages of the
/// executable, so nothing is lost; anything that did read them would read them again from the file.
/// </summary>
/// <remarks>
/// The runtime finds the blob through its module header, and so does this: the <c>__modules</c>
/// section of the executable holds a pointer to each module's ReadyToRun header, whose section
/// table gives the blob's start and end (ModuleHeaders.h in dotnet/runtime). The runtime exposes
/// none of this, so every step is checked (the header's signature and row size, that the header
/// lies in a section of the executable, that the blob lies in one read-only section of it) and anything
/// unexpected leaves memory as it is. Under the JIT (the unit tests) the executable is
/// <c>dotnet</c>, which has no <c>__modules</c> section, and nothing is released.
/// </remarks>
internal static partial class DehydratedData
{
    private const uint ReadyToRunSignature = 0x00525452; // "RTR"
    private const int ReadyToRunHeaderSize = 16;
    private const int DehydratedDataSection = 207;
    private const int ModuleInfoRowSize = 24; // int32 id, int32 flags, start, end (64-bit)
    private const int HasEndPointer = 1;
    private const int ProgramHeaderSize = 56;
    private const int SectionHeaderSize = 64;
    private const uint ProgramHeaderEntry = 6; // PT_PHDR
    private const long SectionWritable = 0x1; // SHF_WRITE
    private const long SectionAllocated = 0x2; // SHF_ALLOC
    private const uint SectionWithContents = 1; // SHT_PROGBITS
    private const nuint AuxProgramHeaders = 3; // AT_PHDR
    private const int DontNeed = 4; // MADV_DONTNEED and POSIX_FADV_DONTNEED alike
    private const long PageSize = 4096;

    /// <summary>Drops the running executable's dehydrated data from memory; returns the bytes released (0 when there is nothing to release).</summary>
    public static long Release()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || !BitConverter.IsLittleEndian)
        {
            return 0;
        }

        try
        {
            using var file = File.OpenHandle("/proc/self/exe");
            return ElfSections.Read(file) is { } sections ? Release(file, sections) : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long Release(Microsoft.Win32.SafeHandles.SafeFileHandle file, ElfSections sections)
    {
        if (sections.Find("__modules"u8) is not { } modules)
        {
            return 0;
        }

        var loadBase = (long)GetAuxiliaryValue(AuxProgramHeaders) - sections.ProgramHeaderAddress;
        var released = 0L;
        for (var slot = modules.Address; slot + 8 <= modules.Address + modules.Size; slot += 8)
        {
            var header = Marshal.ReadInt64((nint)(loadBase + slot));
            if (FindBlob(sections, loadBase, header) is not var (start, end, section))
            {
                continue;
            }

            // Only the pages wholly inside the blob: the pages at either edge hold other data too.
            var first = (start + PageSize - 1) & ~(PageSize - 1);
            var last = end & ~(PageSize - 1);
            if (last > first && Advise((nint)first, (nuint)(last - first), DontNeed) == 0)
            {
                released += last - first;
                // Best effort: a failure leaves the pages cached, as any file's.
                _ = AdviseFile((int)file.DangerousGetHandle(), section.FileOffset + (first - loadBase - section.Address), last - first, DontNeed);
            }
        }

        return released;
    }

    /// <summary>The blob's address range and the read-only section of the executable that holds it.</summary>
    private static (long Start, long End, ElfSection Section)? FindBlob(ElfSections sections, long loadBase, long header)
    {
        if (sections.Holding(header - loadBase, ReadyToRunHeaderSize) is null
            || (uint)Marshal.ReadInt32((nint)header) != ReadyToRunSignature
            || Marshal.ReadByte((nint)header, 14) != ModuleInfoRowSize)
        {
            return null;
        }

        var rows = (ushort)Marshal.ReadInt16((nint)header, 12);
        if (sections.Holding(header - loadBase, ReadyToRunHeaderSize + ((long)rows * ModuleInfoRowSize)) is null)
        {
            return null;
        }

        for (var i = 0; i < rows; i++)
        {
            var row = (nint)(header + ReadyToRunHeaderSize + (i * ModuleInfoRowSize));
            if (Marshal.ReadInt32(row) == DehydratedDataSection && (Marshal.ReadInt32(row, 4) & HasEndPointer) != 0)
            {
                var start = Marshal.ReadInt64(row, 8);
                var end = Marshal.ReadInt64(row, 16);
                // Never anything but a read-only section: MADV_DONTNEED on writable private memory zeroes it.
                return end > start && sections.Holding(start - loadBase, end - start) is { Writable: false } section ? (start, end, section) : null;
            }
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "getauxval")]
    private static partial nuint GetAuxiliaryValue(nuint type);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(nint address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int AdviseFile(int fd, long offset, long length, int advice);

    /// <summary>A section of the executable that is loaded and has contents in the file.</summary>
    private readonly record struct ElfSection(long Address, long Size, long FileOffset, bool Writable);

    /// <summary>The section table of an ELF64 little-endian executable, and the address its program headers load at.</summary>
    private sealed class ElfSections
    {
        private readonly byte[] _table;
        private readonly byte[] _names;

        private ElfSections(byte[] table, byte[] names, long programHeaderAddress)
        {
            _table = table;
            _names = names;
            ProgramHeaderAddress = programHeaderAddress;
        }

        public long ProgramHeaderAddress { get; }

        public static ElfSections? Read(Microsoft.Win32.SafeHandles.SafeFileHandle file)
        {
            var elf = new byte[64];
            if (RandomAccess.Read(file, elf, 0) != elf.Length || !elf.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1
                || U16(elf, 0x36) != ProgramHeaderSize || U16(elf, 0x3A) != SectionHeaderSize)
            {
                return null;
            }

            var programHeaders = ReadAt(file, U64(elf, 0x20), U16(elf, 0x38) * ProgramHeaderSize);
            var table = ReadAt(file, U64(elf, 0x28), U16(elf, 0x3C) * SectionHeaderSize);
            var namesIndex = U16(elf, 0x3E);
            if (programHeaders is null || table is null || (namesIndex + 1) * SectionHeaderSize > table.Length)
            {
                return null;
            }

            long? programHeaderAddress = null;
            for (var at = 0; at < programHeaders.Length; at += ProgramHeaderSize)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(programHeaders.AsSpan(at)) == ProgramHeaderEntry)
                {
                    programHeaderAddress = U64(programHeaders, at + 0x10);
                }
            }

            var namesHeader = namesIndex * SectionHeaderSize;
            var names = ReadAt(file, U64(table, namesHeader + 0x18), checked((int)U64(table, namesHeader + 0x20)));
            return programHeaderAddress is { } address && names is not null ? new ElfSections(table, names, address) : null;
        }

        /// <summary>The loaded section called <paramref name="name"/>.</summary>
        public ElfSection? Find(ReadOnlySpan<byte> name)
        {
            for (var at = 0; at < _table.Length; at += SectionHeaderSize)
            {
                var nameAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(_table.AsSpan(at));
                if (IsLoadedWithContents(at) && nameAt < _names.Length
                    && _names.AsSpan(nameAt).StartsWith(name) && nameAt + name.Length < _names.Length && _names[nameAt + name.Length] == 0)
                {
                    return SectionAt(at);
                }
            }

            return null;
        }

        /// <summary>The loaded section that holds all of [address, address + length), if any.</summary>
        public ElfSection? Holding(long address, long length)
        {
            for (var at = 0; length >= 0 && at < _table.Length; at += SectionHeaderSize)
            {
                if (IsLoadedWithContents(at) && SectionAt(at) is var section
                    && address >= section.Address && address + length <= section.Address + section.Size)
                {
                    return section;
                }
            }

            return null;
        }

        private bool IsLoadedWithContents(int at) =>
            BinaryPrimitives.ReadUInt32LittleEndian(_table.AsSpan(at + 0x04)) == SectionWithContents && (U64(_table, at + 0x08) & SectionAllocated) != 0;

        private ElfSection SectionAt(int at) =>
            new(Address: U64(_table, at + 0x10), Size: U64(_table, at + 0x20), FileOffset: U64(_table, at + 0x18), Writable: (U64(_table, at + 0x08) & SectionWritable) != 0);

        private static byte[]? ReadAt(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, int length)
        {
            var buffer = new byte[length];
            return RandomAccess.Read(file, buffer, offset) == length ? buffer : null;
        }

        private static int U16(byte[] bytes, int at) => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at));

        private static long U64(byte[] bytes, int at) => (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
    }
}
