using Trellis.Proxy.Http.Http2;

namespace Trellis.Proxy.Tests.Http.Http2;

public sealed class Http2ClosedStreamsTests
{
    [Fact]
    public void Contains_OnlyTheIdsAdded()
    {
        var closed = new Http2ClosedStreams(4);
        closed.Add(1);
        closed.Add(5);

        Assert.True(closed.Contains(1));
        Assert.True(closed.Contains(5));
        Assert.False(closed.Contains(3));
        Assert.False(closed.Contains(0));
    }

    [Fact]
    public void Add_BeyondCapacity_ForgetsTheOldestFirst()
    {
        var closed = new Http2ClosedStreams(2);
        closed.Add(1);
        closed.Add(3);
        closed.Add(5);

        Assert.False(closed.Contains(1));
        Assert.True(closed.Contains(3));
        Assert.True(closed.Contains(5));
    }
}
