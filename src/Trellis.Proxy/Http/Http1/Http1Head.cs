namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// What the parser learned from one request or response head, as offsets into the head's
/// bytes. One instance per direction per client connection, reset for each message, so
/// parsing allocates nothing.
/// </summary>
internal sealed class Http1Head
{
    private Http1HeaderEntry[] _headers;

    public Http1Head(int maxHeaders)
    {
        _headers = new Http1HeaderEntry[Math.Min(maxHeaders, 32)];
        MaxHeaders = maxHeaders;
    }

    public int MaxHeaders { get; }

    /// <summary>Offset just past the start line's CRLF.</summary>
    public int StartLineEnd { get; set; }

    /// <summary>1 for HTTP/1.1, 0 for HTTP/1.0.</summary>
    public int VersionMinor { get; set; }

    public bool IsHeadMethod { get; set; }

    public int StatusCode { get; set; }

    public int HeaderCount { get; private set; }

    public long ContentLength { get; set; }

    public bool HasTransferEncoding { get; set; }

    public bool Chunked { get; set; }

    public bool ConnectionClose { get; set; }

    public bool ConnectionKeepAlive { get; set; }

    public bool ConnectionUpgrade { get; set; }

    /// <summary>Connection names headers other than close/keep-alive/upgrade; those are hop-by-hop too.</summary>
    public bool ConnectionNamesOthers { get; set; }

    public bool HasUpgradeHeader { get; set; }

    /// <summary>Index of the Host entry, or -1.</summary>
    public int HostIndex { get; set; }

    public ReadOnlySpan<Http1HeaderEntry> Headers => _headers.AsSpan(0, HeaderCount);

    public Http1BodyFraming Framing { get; set; }

    /// <summary>The message asks to switch protocols (Upgrade header named by Connection).</summary>
    public bool IsUpgrade => HasUpgradeHeader && ConnectionUpgrade;

    public void Reset()
    {
        StartLineEnd = 0;
        VersionMinor = 1;
        IsHeadMethod = false;
        StatusCode = 0;
        HeaderCount = 0;
        ContentLength = -1;
        HasTransferEncoding = false;
        Chunked = false;
        ConnectionClose = false;
        ConnectionKeepAlive = false;
        ConnectionUpgrade = false;
        ConnectionNamesOthers = false;
        HasUpgradeHeader = false;
        HostIndex = -1;
        Framing = Http1BodyFraming.None;
    }

    public bool TryAdd(in Http1HeaderEntry entry)
    {
        if (HeaderCount == MaxHeaders)
        {
            return false;
        }

        if (HeaderCount == _headers.Length)
        {
            Array.Resize(ref _headers, Math.Min(_headers.Length * 2, MaxHeaders));
        }

        _headers[HeaderCount++] = entry;
        return true;
    }

    /// <summary>HTTP/1.1 persists unless closed; HTTP/1.0 only when keep-alive was asked for.</summary>
    public bool KeepAlive => VersionMinor == 1 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;
}
