using System.Collections.Frozen;

namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>The static table of RFC 7541 Appendix A, indexed from 1.</summary>
internal static class HpackStaticTable
{
    public const int Count = 61;

    // Entry 0 is unused so that an HPACK index is an array index.
    private static readonly HeaderField[] Entries =
    [
        default,
        new(":authority", ""),
        new(":method", "GET"),
        new(":method", "POST"),
        new(":path", "/"),
        new(":path", "/index.html"),
        new(":scheme", "http"),
        new(":scheme", "https"),
        new(":status", "200"),
        new(":status", "204"),
        new(":status", "206"),
        new(":status", "304"),
        new(":status", "400"),
        new(":status", "404"),
        new(":status", "500"),
        new("accept-charset", ""),
        new("accept-encoding", "gzip, deflate"),
        new("accept-language", ""),
        new("accept-ranges", ""),
        new("accept", ""),
        new("access-control-allow-origin", ""),
        new("age", ""),
        new("allow", ""),
        new("authorization", ""),
        new("cache-control", ""),
        new("content-disposition", ""),
        new("content-encoding", ""),
        new("content-language", ""),
        new("content-length", ""),
        new("content-location", ""),
        new("content-range", ""),
        new("content-type", ""),
        new("cookie", ""),
        new("date", ""),
        new("etag", ""),
        new("expect", ""),
        new("expires", ""),
        new("from", ""),
        new("host", ""),
        new("if-match", ""),
        new("if-modified-since", ""),
        new("if-none-match", ""),
        new("if-range", ""),
        new("if-unmodified-since", ""),
        new("last-modified", ""),
        new("link", ""),
        new("location", ""),
        new("max-forwards", ""),
        new("proxy-authenticate", ""),
        new("proxy-authorization", ""),
        new("range", ""),
        new("referer", ""),
        new("refresh", ""),
        new("retry-after", ""),
        new("server", ""),
        new("set-cookie", ""),
        new("strict-transport-security", ""),
        new("transfer-encoding", ""),
        new("user-agent", ""),
        new("vary", ""),
        new("via", ""),
        new("www-authenticate", ""),
    ];

    // Name -> lowest index with that name; entries sharing a name are adjacent.
    private static readonly FrozenDictionary<string, int> FirstIndexByName = BuildNameIndex();

    public static HeaderField Get(int index) => Entries[index];

    /// <summary>The index of the entry with this name and value (0 when none) and of the first entry with this name (0 when none).</summary>
    public static (int FieldIndex, int NameIndex) Find(string name, string value)
    {
        if (!FirstIndexByName.TryGetValue(name, out var nameIndex))
        {
            return (0, 0);
        }

        for (var i = nameIndex; i <= Count && string.Equals(Entries[i].Name, name, StringComparison.Ordinal); i++)
        {
            if (string.Equals(Entries[i].Value, value, StringComparison.Ordinal))
            {
                return (i, nameIndex);
            }
        }

        return (0, nameIndex);
    }

    private static FrozenDictionary<string, int> BuildNameIndex()
    {
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = Count; i >= 1; i--)
        {
            byName[Entries[i].Name] = i;
        }

        return byName.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
