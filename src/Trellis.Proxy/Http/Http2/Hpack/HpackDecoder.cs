using System.Buffers;

namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// Decodes field blocks (RFC 7541) for one connection direction, keeping the dynamic table the
/// peer's encoder builds. Names and values the table or a known-string pool already holds are
/// returned as shared instances; only new strings are allocated.
/// </summary>
internal sealed class HpackDecoder
{
    private readonly int _maxDynamicTableSize;
    private readonly int _maxHeaderListSize;
    private readonly HpackDynamicTable _table;
    private readonly HpackRecentStrings _recent = new();
    private byte[] _scratch = [];

    /// <param name="maxDynamicTableSize">The SETTINGS_HEADER_TABLE_SIZE announced to the peer.</param>
    /// <param name="maxHeaderListSize">
    /// The largest header list accepted, counted as in SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field).
    /// </param>
    public HpackDecoder(int maxDynamicTableSize = 4096, int maxHeaderListSize = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDynamicTableSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        _maxDynamicTableSize = maxDynamicTableSize;
        _maxHeaderListSize = maxHeaderListSize;
        _table = new HpackDynamicTable(maxDynamicTableSize);
    }

    /// <summary>The dynamic table's size in octets as RFC 7541 section 4.1 counts it.</summary>
    public int DynamicTableSize => _table.Size;

    public int DynamicTableCount => _table.Count;

    /// <summary>
    /// Decodes one complete field block (a HEADERS fragment and all its CONTINUATION fragments)
    /// and appends its fields to <paramref name="headers"/> in order.
    /// </summary>
    /// <exception cref="HpackException">The block is malformed or the header list too large.</exception>
    public void Decode(ReadOnlySequence<byte> headerBlock, List<HeaderField> headers)
    {
        if (headerBlock.IsSingleSegment)
        {
            Decode(headerBlock.FirstSpan, headers);
            return;
        }

        var length = checked((int)headerBlock.Length);
        var block = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            headerBlock.CopyTo(block);
            Decode(block.AsSpan(0, length), headers);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private void Decode(ReadOnlySpan<byte> block, List<HeaderField> headers)
    {
        var position = 0;
        var listSize = 0L;
        var sizeUpdateAllowed = true;
        while (position < block.Length)
        {
            var first = block[position];
            HeaderField field;
            if ((first & 0x80) != 0)
            {
                // Indexed field (section 6.1).
                field = GetIndexed(ReadInteger(block, ref position, 7));
            }
            else if ((first & 0xC0) == 0x40)
            {
                // Literal with incremental indexing (section 6.2.1).
                field = ReadLiteral(block, ref position, 6, neverIndexed: false);
                _table.Add(field);
            }
            else if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (section 6.3): only before the block's first field (section 4.2).
                if (!sizeUpdateAllowed)
                {
                    throw new HpackException("A dynamic table size update follows a header field.");
                }

                var maxSize = ReadInteger(block, ref position, 5);
                if (maxSize > _maxDynamicTableSize)
                {
                    throw new HpackException("A dynamic table size update exceeds the announced maximum.");
                }

                _table.SetMaxSize(maxSize);
                continue;
            }
            else
            {
                // Literal without indexing (0000) or never indexed (0001) (sections 6.2.2, 6.2.3).
                field = ReadLiteral(block, ref position, 4, neverIndexed: (first & 0x10) != 0);
            }

            sizeUpdateAllowed = false;
            listSize += field.Name.Length + field.Value.Length + HpackDynamicTable.EntryOverhead;
            if (listSize > _maxHeaderListSize)
            {
                throw new HpackException("The header list exceeds the maximum size.");
            }

            headers.Add(field);
        }
    }

    private HeaderField GetIndexed(int index)
    {
        if (index == 0)
        {
            throw new HpackException("A header field index is 0.");
        }

        if (index <= HpackStaticTable.Count)
        {
            return HpackStaticTable.Get(index);
        }

        var dynamicIndex = index - HpackStaticTable.Count - 1;
        if (dynamicIndex >= _table.Count)
        {
            throw new HpackException("A header field index is past the end of the tables.");
        }

        return _table[dynamicIndex];
    }

    private HeaderField ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits, bool neverIndexed)
    {
        var nameIndex = ReadInteger(block, ref position, prefixBits);
        var name = nameIndex == 0
            ? ReadString(block, ref position, HpackStringPool.Names)
            : GetIndexed(nameIndex).Name;
        var value = ReadString(block, ref position, HpackStringPool.Values);
        return new HeaderField(name, value) { NeverIndexed = neverIndexed };
    }

    private string ReadString(ReadOnlySpan<byte> block, ref int position, HpackStringPool pool)
    {
        if (position >= block.Length)
        {
            throw new HpackException("A field block ends before a string literal.");
        }

        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position)
        {
            throw new HpackException("A string literal runs past the end of the field block.");
        }

        var encoded = block.Slice(position, length);
        position += length;
        if (!huffman)
        {
            return GetString(encoded, pool);
        }

        var maxLength = HpackHuffman.MaxDecodedLength(length);
        if (_scratch.Length < maxLength)
        {
            _scratch = new byte[Math.Max(maxLength, 256)];
        }

        var decodedLength = HpackHuffman.Decode(encoded, _scratch);
        return GetString(_scratch.AsSpan(0, decodedLength), pool);
    }

    private string GetString(ReadOnlySpan<byte> bytes, HpackStringPool pool) =>
        pool.TryGet(bytes, out var known) ? known : _recent.GetOrAdd(bytes);

    // An integer with an N-bit prefix (section 5.1); values beyond int are rejected, not wrapped.
    private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var prefixMask = (1 << prefixBits) - 1;
        long value = block[position++] & prefixMask;
        if (value < prefixMask)
        {
            return (int)value;
        }

        var shift = 0;
        while (true)
        {
            if (position >= block.Length)
            {
                throw new HpackException("A field block ends inside an integer.");
            }

            if (shift > 28)
            {
                throw new HpackException("An integer overflows 32 bits.");
            }

            var next = block[position++];
            value += (long)(next & 0x7F) << shift;
            if (value > int.MaxValue)
            {
                throw new HpackException("An integer overflows 32 bits.");
            }

            if ((next & 0x80) == 0)
            {
                return (int)value;
            }

            shift += 7;
        }
    }
}
