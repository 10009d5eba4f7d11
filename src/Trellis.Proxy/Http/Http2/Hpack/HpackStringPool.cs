using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// Turns decoded bytes into strings, handing out one shared instance for each known string so
/// the names and values every gRPC call repeats cost no allocation. Lookup is by length, then a
/// vectorized compare against the few known strings of that length.
/// </summary>
internal sealed class HpackStringPool
{
    private readonly (byte[] Bytes, string Text)[][] _byLength;

    public HpackStringPool(IEnumerable<string> known)
    {
        var buckets = new List<(byte[], string)>[1];
        foreach (var text in known)
        {
            if (text.Length >= buckets.Length)
            {
                Array.Resize(ref buckets, text.Length + 1);
            }

            var bucket = buckets[text.Length] ??= [];
            if (!bucket.Exists(entry => entry.Item2 == text))
            {
                bucket.Add((Encoding.Latin1.GetBytes(text), text));
            }
        }

        _byLength = new (byte[], string)[buckets.Length][];
        for (var i = 0; i < buckets.Length; i++)
        {
            _byLength[i] = buckets[i]?.ToArray() ?? [];
        }
    }

    /// <summary>Names of the static table (the very same instances) and of gRPC.</summary>
    public static HpackStringPool Names { get; } = new(KnownNames());

    /// <summary>Values of the static table and those gRPC sends on every call.</summary>
    public static HpackStringPool Values { get; } = new(KnownValues());

    /// <summary>The shared instance of <paramref name="bytes"/> when it is a known string.</summary>
    public bool TryGet(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out string? text)
    {
        if (bytes.Length < _byLength.Length)
        {
            foreach (var known in _byLength[bytes.Length])
            {
                if (bytes.SequenceEqual(known.Bytes))
                {
                    text = known.Text;
                    return true;
                }
            }
        }

        text = null;
        return false;
    }

    private static IEnumerable<string> KnownNames()
    {
        for (var i = 1; i <= HpackStaticTable.Count; i++)
        {
            yield return HpackStaticTable.Get(i).Name;
        }

        yield return "te";
        yield return "grpc-timeout";
        yield return "grpc-encoding";
        yield return "grpc-accept-encoding";
        yield return "grpc-status";
        yield return "grpc-message";
        yield return "grpc-status-details-bin";
    }

    private static IEnumerable<string> KnownValues()
    {
        for (var i = 1; i <= HpackStaticTable.Count; i++)
        {
            yield return HpackStaticTable.Get(i).Value;
        }

        yield return "application/grpc";
        yield return "trailers";
        yield return "0";
        yield return "gzip";
        yield return "identity";
        yield return "identity,deflate,gzip";
    }
}
