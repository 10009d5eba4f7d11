namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// The decoder's dynamic table (RFC 7541 section 2.3.2): a ring of entries, newest first, sized
/// as name + value + 32 octets each and evicting the oldest to stay within the maximum size.
/// </summary>
internal sealed class HpackDynamicTable
{
    public const int EntryOverhead = 32;

    private readonly HeaderField[] _entries;
    private int _newest;
    private int _maxSize;

    // Every entry takes at least 32 octets, so maxSize / 32 slots hold a full table; size updates
    // never raise the maximum above the one given here.
    public HpackDynamicTable(int maxSize)
    {
        _maxSize = maxSize;
        _entries = new HeaderField[Math.Max(1, maxSize / EntryOverhead)];
    }

    public int Count { get; private set; }

    public int Size { get; private set; }

    /// <summary>The entry at 0-based <paramref name="index"/>, 0 being the newest.</summary>
    public HeaderField this[int index] => _entries[(_newest - index + _entries.Length) % _entries.Length];

    /// <summary>Inserts an entry; one larger than the whole table empties it instead (section 4.4).</summary>
    public void Add(HeaderField field)
    {
        var entrySize = EntrySize(field);
        if (entrySize > _maxSize)
        {
            EvictUntil(0);
            return;
        }

        EvictUntil(_maxSize - entrySize);
        _newest = (_newest + 1) % _entries.Length;
        _entries[_newest] = field;
        Count++;
        Size += entrySize;
    }

    /// <summary>Applies a dynamic table size update (section 4.3), evicting what no longer fits.</summary>
    public void SetMaxSize(int maxSize)
    {
        _maxSize = maxSize;
        EvictUntil(maxSize);
    }

    private static int EntrySize(HeaderField field) => field.Name.Length + field.Value.Length + EntryOverhead;

    private void EvictUntil(int size)
    {
        while (Size > size)
        {
            var oldest = (_newest - Count + 1 + _entries.Length) % _entries.Length;
            Size -= EntrySize(_entries[oldest]);
            _entries[oldest] = default;
            Count--;
        }
    }
}
