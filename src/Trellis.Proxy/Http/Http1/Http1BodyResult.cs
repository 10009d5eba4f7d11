namespace Trellis.Proxy.Http.Http1;

/// <summary>How forwarding one message body ended.</summary>
internal enum Http1BodyResult
{
    Completed,

    /// <summary>The sender closed (or broke) before the body's framing said it was done.</summary>
    SourceEnded,

    /// <summary>The receiver went away.</summary>
    DestinationGone,

    /// <summary>Bad chunked framing.</summary>
    Malformed,

    /// <summary>The other half of the exchange failed and asked this copy to stop.</summary>
    Aborted,
}
