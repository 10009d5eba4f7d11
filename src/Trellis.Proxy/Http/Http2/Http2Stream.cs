using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// One side of an exchange on one connection: the client's stream on a server connection, or
/// the relay's stream on an upstream connection. Each side has a receive half (what the peer
/// endpoint sends on it, and the credit owed back) and a send half (what the relay forwards
/// into it from the other side, within the peer's windows).
/// </summary>
/// <remarks>
/// The send half is guarded by the owning connection's write lock; before an upstream stream
/// is bound to a connection it is guarded by locking the stream itself (see
/// <see cref="Http2Exchange"/>). The receive half is only touched by the owning connection's
/// read loop, except <see cref="CreditOwed"/> (interlocked) and <see cref="ReceiveLimit"/>
/// (grows under the write lock before the WINDOW_UPDATE that announces it is written).
/// </remarks>
internal sealed class Http2Stream
{
    private Http2Connection? _connection;

    public Http2Stream(Http2Exchange exchange)
    {
        Exchange = exchange;
    }

    public Http2Exchange Exchange { get; }

    /// <summary>The other side of the exchange: where this side's received DATA goes.</summary>
    public Http2Stream Peer { get; set; } = null!;

    /// <summary>Null for an upstream stream until the relay has opened it on a connection.</summary>
    public Http2Connection? Connection
    {
        get => Volatile.Read(ref _connection);
        set => Volatile.Write(ref _connection, value);
    }

    public int Id { get; set; }

    // === Receive half ===

    /// <summary>Total DATA bytes the peer endpoint may send on this stream so far.</summary>
    public long ReceiveLimit;

    /// <summary>Total DATA bytes received (padding included).</summary>
    public long Received { get; set; }

    /// <summary>Bytes handed on to the other side and not yet returned to the sender as credit.</summary>
    public int CreditOwed;

    /// <summary>The peer endpoint sent END_STREAM (or the stream was reset).</summary>
    public bool RemoteEnded { get; set; }

    /// <summary>Final (non-1xx) HEADERS were received: further HEADERS are trailers.</summary>
    public bool HeadersReceived { get; set; }

    // === Send half ===

    /// <summary>What the peer endpoint still accepts on this stream; negative after a SETTINGS shrink.</summary>
    public long SendWindow { get; set; }

    /// <summary>DATA waiting for window, in order.</summary>
    public Http2PendingData Pending;

    /// <summary>END_STREAM goes out once <see cref="Pending"/> (and any trailers) drained.</summary>
    public bool PendingEnd { get; set; }

    /// <summary>Trailers that arrived while DATA was still pending; sent (with END_STREAM) after it.</summary>
    public HeaderField[]? PendingTrailers { get; set; }

    /// <summary>Queued on the connection for a connection-level WINDOW_UPDATE.</summary>
    public bool WaitingForConnectionWindow { get; set; }

    /// <summary>The relay sent its HEADERS (for a client stream: the final response headers).</summary>
    public bool HeadersSent { get; set; }

    /// <summary>END_STREAM or RST_STREAM was sent: nothing more may be written.</summary>
    public bool SendClosed { get; set; }

    /// <summary>RST_STREAM was sent (or received): the stream is gone for both endpoints.</summary>
    public bool Reset { get; set; }

    /// <summary>Anything to send once the window opens.</summary>
    public bool HasPendingSend => !Pending.IsEmpty || PendingTrailers is not null || (PendingEnd && !SendClosed);
}
