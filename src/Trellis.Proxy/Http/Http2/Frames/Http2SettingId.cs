namespace Trellis.Proxy.Http.Http2.Frames;

/// <summary>SETTINGS parameters defined by RFC 9113 section 6.5.2.</summary>
internal enum Http2SettingId : ushort
{
    HeaderTableSize = 1,
    EnablePush = 2,
    MaxConcurrentStreams = 3,
    InitialWindowSize = 4,
    MaxFrameSize = 5,
    MaxHeaderListSize = 6,
}
