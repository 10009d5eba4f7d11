using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Transport;

public class PinnedBlockPoolTests
{
    [Fact]
    public void Rent_GivesABlockOfTheBlockSize()
    {
        var pool = new PinnedBlockPool(maxRetained: 4);

        using var block = pool.Rent(100);

        Assert.Equal(PinnedBlockPool.BlockSize, block.Memory.Length);
    }

    [Fact]
    public void Rent_AfterDispose_ReusesTheSameMemory()
    {
        var pool = new PinnedBlockPool(maxRetained: 4);
        var first = pool.Rent();
        first.Memory.Span[0] = 42;
        first.Dispose();

        using var second = pool.Rent();

        Assert.Same(first, second);
        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void Dispose_Twice_ReturnsTheBlockOnce()
    {
        var pool = new PinnedBlockPool(maxRetained: 4);
        var block = pool.Rent();

        block.Dispose();
        block.Dispose();

        Assert.Equal(1, pool.Retained);
        using var a = pool.Rent();
        using var b = pool.Rent();
        Assert.NotSame(a, b);
    }

    [Fact]
    public void Dispose_BeyondTheRetentionBound_LeavesTheRestToTheGc()
    {
        var pool = new PinnedBlockPool(maxRetained: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();

        blocks.ForEach(b => b.Dispose());

        Assert.Equal(2, pool.Retained);
    }

    [Fact]
    public void Trim_DropsEveryFreeBlock_AndRentingAfterGetsANewOne()
    {
        var pool = new PinnedBlockPool(maxRetained: 4);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());

        var dropped = pool.Trim();

        Assert.Equal(3, dropped);
        Assert.Equal(0, pool.Retained);
        using var fresh = pool.Rent();
        Assert.DoesNotContain(fresh, blocks);
    }

    [Fact]
    public void Trim_LeavesRentedBlocksWithTheirOwners()
    {
        var pool = new PinnedBlockPool(maxRetained: 4);
        var rented = pool.Rent();
        pool.Rent().Dispose();

        Assert.Equal(1, pool.Trim());
        rented.Dispose();

        Assert.Equal(1, pool.Retained);
    }

    [Fact]
    public void Rent_MoreThanABlock_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PinnedBlockPool(maxRetained: 1).Rent(PinnedBlockPool.BlockSize + 1));
}
