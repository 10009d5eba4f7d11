namespace Trellis.Proxy.Http.Http2;

/// <summary>What the relay reads from a request's header block.</summary>
internal readonly record struct Http2Request(string Method, string? Authority, bool IsGrpc)
{
    public bool IsConnect => Method == "CONNECT";
}
