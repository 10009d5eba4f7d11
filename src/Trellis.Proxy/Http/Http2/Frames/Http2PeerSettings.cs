namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>
/// The settings a peer has announced, starting from the RFC 9113 section 6.5.2 defaults
/// (use <see cref="Default"/>; <c>default(Http2PeerSettings)</c> is all zeros).
/// </summary>
internal struct Http2PeerSettings
{
    public Http2PeerSettings()
    {
    }

    public static Http2PeerSettings Default => new();

    public int HeaderTableSize { get; set; } = 4096;

    public bool EnablePush { get; set; } = true;

    public int MaxConcurrentStreams { get; set; } = int.MaxValue;

    public int InitialWindowSize { get; set; } = 65535;

    public int MaxFrameSize { get; set; } = 16384;

    public int MaxHeaderListSize { get; set; } = int.MaxValue;
}
