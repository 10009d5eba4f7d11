using System.Buffers;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// DATA bytes received for a stream that its sink's send window could not take yet, held in
/// small pooled segments until a WINDOW_UPDATE makes room. Memory stays bounded because the
/// source only gets credit back once bytes leave this buffer: it can never hold more than the
/// window the relay advertised. Empty (and holding no segment) in the common case, where the
/// sink's windows are open and DATA passes straight through.
/// </summary>
internal struct Http2PendingData
{
    private const int SegmentSize = 4096;

    private List<byte[]>? _segments;
    private int _headOffset;
    private int _tailLength;

    /// <summary>Bytes held.</summary>
    public long Length { get; private set; }

    public readonly bool IsEmpty => Length == 0;

    public void Append(in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        _segments ??= [];
        foreach (var memory in data)
        {
            var source = memory.Span;
            while (!source.IsEmpty)
            {
                if (_segments.Count == 0 || _tailLength == SegmentSize)
                {
                    _segments.Add(ArrayPool<byte>.Shared.Rent(SegmentSize));
                    _tailLength = 0;
                }

                var count = Math.Min(source.Length, SegmentSize - _tailLength);
                source[..count].CopyTo(_segments[^1].AsSpan(_tailLength));
                _tailLength += count;
                source = source[count..];
                Length += count;
            }
        }
    }

    /// <summary>The oldest contiguous bytes, at most <paramref name="max"/> of them.</summary>
    public readonly ReadOnlyMemory<byte> Peek(int max)
    {
        if (Length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var end = _segments!.Count == 1 ? _tailLength : SegmentSize;
        return _segments[0].AsMemory(_headOffset, Math.Min(max, end - _headOffset));
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front (at most what <see cref="Peek"/> returned).</summary>
    public void Consume(int count)
    {
        _headOffset += count;
        Length -= count;
        var end = _segments!.Count == 1 ? _tailLength : SegmentSize;
        if (_headOffset == end)
        {
            ArrayPool<byte>.Shared.Return(_segments[0]);
            _segments.RemoveAt(0);
            _headOffset = 0;
            if (_segments.Count == 0)
            {
                _tailLength = 0;
            }
        }
    }

    /// <summary>Drops everything held; returns how many bytes were dropped.</summary>
    public long Clear()
    {
        var dropped = Length;
        if (_segments is not null)
        {
            foreach (var segment in _segments)
            {
                ArrayPool<byte>.Shared.Return(segment);
            }

            _segments.Clear();
        }

        _headOffset = 0;
        _tailLength = 0;
        Length = 0;
        return dropped;
    }
}
