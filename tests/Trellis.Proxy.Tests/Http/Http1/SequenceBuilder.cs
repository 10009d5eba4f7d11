using System.Buffers;
using System.Text;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/>, to test input split across pipe segments.</summary>
internal static class SequenceBuilder
{
    public static ReadOnlySequence<byte> FromText(string text, params int[] cuts)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        if (cuts.Length == 0)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            var segment = new Segment(bytes.AsMemory(start, cut - start), last);
            first ??= segment;
            last = segment;
            start = cut;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
