using System.Buffers;
using Trellis.Proxy.Http.Http2.Frames;

namespace Trellis.Proxy.Tests.Http.Http2.Frames;

public class Http2SettingsReaderTests
{
    [Fact]
    public void Default_HasTheRfcInitialValues()
    {
        var settings = Http2PeerSettings.Default;

        Assert.Equal(4096, settings.HeaderTableSize);
        Assert.True(settings.EnablePush);
        Assert.Equal(int.MaxValue, settings.MaxConcurrentStreams);
        Assert.Equal(65535, settings.InitialWindowSize);
        Assert.Equal(16384, settings.MaxFrameSize);
        Assert.Equal(int.MaxValue, settings.MaxHeaderListSize);
    }

    [Fact]
    public void ReadSettings_EveryKnownSetting_IsApplied()
    {
        var payload = FrameBytes.Settings((1, 0), (2, 0), (3, 100), (4, 1 << 20), (5, 16_777_215), (6, 8192));
        var settings = Http2PeerSettings.Default;

        Http2FrameReader.ReadSettings(SegmentedSequence.Create(payload, 5), ref settings);

        Assert.Equal(0, settings.HeaderTableSize);
        Assert.False(settings.EnablePush);
        Assert.Equal(100, settings.MaxConcurrentStreams);
        Assert.Equal(1 << 20, settings.InitialWindowSize);
        Assert.Equal(16_777_215, settings.MaxFrameSize);
        Assert.Equal(8192, settings.MaxHeaderListSize);
    }

    [Fact]
    public void ReadSettings_UnknownIdAndRepeats_IgnoresUnknownAndKeepsTheLast()
    {
        var payload = FrameBytes.Settings((0xFF, 7), (3, 10), (3, 20));
        var settings = Http2PeerSettings.Default;

        Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(payload), ref settings);

        Assert.Equal(20, settings.MaxConcurrentStreams);
        Assert.Equal(Http2PeerSettings.Default.InitialWindowSize, settings.InitialWindowSize);
    }

    [Fact]
    public void ReadSettings_ValueAboveIntMax_IsClampedForUnboundedSettings()
    {
        var settings = Http2PeerSettings.Default;

        Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(FrameBytes.Settings((6, uint.MaxValue))), ref settings);

        Assert.Equal(int.MaxValue, settings.MaxHeaderListSize);
    }

    [Fact]
    public void ReadSettings_LengthNotMultipleOfSix_ThrowsFrameSizeError()
    {
        var settings = Http2PeerSettings.Default;

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(new byte[7]), ref settings));

        Assert.Equal(Http2ErrorCode.FrameSizeError, error.Code);
    }

    [Theory]
    [InlineData(2, 2u, 1u)] // ENABLE_PUSH -> PROTOCOL_ERROR
    [InlineData(4, 0x8000_0000u, 3u)] // INITIAL_WINDOW_SIZE -> FLOW_CONTROL_ERROR
    [InlineData(5, 16383u, 1u)] // MAX_FRAME_SIZE -> PROTOCOL_ERROR
    [InlineData(5, 16_777_216u, 1u)]
    public void ReadSettings_InvalidValue_ThrowsConnectionError(ushort id, uint value, uint expectedCode)
    {
        var settings = Http2PeerSettings.Default;

        var error = Assert.Throws<Http2ConnectionException>(
            () => Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(FrameBytes.Settings((id, value))), ref settings));

        Assert.Equal((Http2ErrorCode)expectedCode, error.Code);
    }

    [Fact]
    public void ReadSettings_MaximumInitialWindowSize_IsAccepted()
    {
        var settings = Http2PeerSettings.Default;

        Http2FrameReader.ReadSettings(new ReadOnlySequence<byte>(FrameBytes.Settings((4, 0x7FFF_FFFF))), ref settings);

        Assert.Equal(int.MaxValue, settings.InitialWindowSize);
    }
}
