namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The ids of the last streams a connection closed, so that a HEADERS frame for one of them can
/// be told from a stream id the client skipped or reuses (RFC 9113 §5.1, §5.1.1). The client may
/// still have frames in flight for a stream the relay reset or finished first, and those must be
/// ignored; the RFC lets an endpoint limit how long it does so, which the capacity does.
/// </summary>
internal sealed class Http2ClosedStreams
{
    private readonly int[] _ids;
    private readonly Lock _lock = new();
    private int _next;

    public Http2ClosedStreams(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ids = new int[capacity];
    }

    public void Add(int streamId)
    {
        lock (_lock)
        {
            _ids[_next] = streamId;
            _next = (_next + 1) % _ids.Length;
        }
    }

    public bool Contains(int streamId)
    {
        lock (_lock)
        {
            return streamId > 0 && Array.IndexOf(_ids, streamId) >= 0;
        }
    }
}
