namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The connections a read loop wrote to while handling one read's worth of frames, flushed
/// once when that read is done: a gRPC call's HEADERS, DATA and trailers usually arrive in one
/// read and so leave in one send, not three. Owned by one read loop; code that runs outside a
/// read loop's synchronous part (timers, dials, resumed awaits) passes no batch and flushes at once.
/// </summary>
internal sealed class Http2FlushBatch
{
    private readonly List<Http2Connection> _dirty = new(2);

    public void Add(Http2Connection connection)
    {
        if (!_dirty.Contains(connection))
        {
            _dirty.Add(connection);
        }
    }

    public async ValueTask FlushAsync()
    {
        // Indexed: a flush never adds to the batch it belongs to.
        for (var i = 0; i < _dirty.Count; i++)
        {
            await _dirty[i].FlushAsync();
        }

        _dirty.Clear();
    }
}
