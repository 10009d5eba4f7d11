using System.Text;

namespace Trellis.Proxy.Http.Http2.Hpack;

/// <summary>
/// The last few short literals one decoder turned into strings, most recently used first, so a
/// value every request on a connection repeats as a literal is one string per connection rather
/// than one per request. Trellis's own encoder never indexes (<see cref="HpackEncoder"/>), so
/// behind a meshed hop the :path and :authority of every call arrive this way.
/// </summary>
/// <remarks>
/// Least recently used goes first, so a value that changes on every request (a deadline, a
/// request id) cycles through the tail without pushing out the ones that repeat. Only ASCII
/// is matched (<see cref="Ascii.Equals(ReadOnlySpan{byte}, ReadOnlySpan{char})"/> compares
/// the bytes against the string without a copy of them); other values are allocated each time,
/// as are values longer than <see cref="MaxLength"/>, so the cache stays a few hundred bytes.
/// </remarks>
internal sealed class HpackRecentStrings
{
    public const int Capacity = 8;
    public const int MaxLength = 64;

    private readonly string[] _strings = new string[Capacity];
    private int _count;

    public string GetOrAdd(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxLength || !Ascii.IsValid(bytes))
        {
            // Never matched (see the remarks), so not kept: it would only push out one that is.
            return Encoding.Latin1.GetString(bytes);
        }

        for (var i = 0; i < _count; i++)
        {
            var text = _strings[i];
            if (text.Length == bytes.Length && Ascii.Equals(bytes, text))
            {
                MoveToFront(i, text);
                return text;
            }
        }

        var added = Encoding.Latin1.GetString(bytes);
        if (_count < Capacity)
        {
            _count++;
        }

        MoveToFront(_count - 1, added);
        return added;
    }

    private void MoveToFront(int index, string text)
    {
        Array.Copy(_strings, 0, _strings, 1, index);
        _strings[0] = text;
    }
}
