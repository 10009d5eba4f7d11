using System.Buffers;
using System.Collections.Concurrent;

namespace Trellis.Proxy.Transport;

/// <summary>
/// Fixed-size blocks for the socket pipes, allocated on the pinned object heap and reused.
/// Socket I/O pins its buffer; ArrayPool arrays live in gen0, so a busy proxy's pinned receive
/// buffers kept the GC from compacting and it held regions it could not reuse: at 120 client
/// connections the heap had 2 MB live but 17 MB more resident than at 10. Blocks on the pinned
/// heap leave gen0 free to compact. (Kestrel's pool does the same, but it is internal.)
/// </summary>
internal sealed class PinnedBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _free = new();
    private readonly int _maxRetained;
    private int _retained;

    public PinnedBlockPool(int maxRetained) => _maxRetained = maxRetained;

    /// <summary>Up to 16 MiB of free blocks are kept for reuse; more are left to the GC.</summary>
    public static PinnedBlockPool Sockets { get; } = new(maxRetained: 4096);

    public override int MaxBufferSize => BlockSize;

    /// <summary>Free blocks held for reuse.</summary>
    public int Retained => Volatile.Read(ref _retained);

    /// <summary>Lets go of every free block, for the GC to reclaim; returns how many there were.</summary>
    public int Trim()
    {
        var dropped = 0;
        while (_free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _retained);
            dropped++;
        }

        return dropped;
    }

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
            block.Rented = true;
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) <= _maxRetained)
        {
            _free.Enqueue(block);
            return;
        }

        Interlocked.Decrement(ref _retained);
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly PinnedBlockPool _pool;
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Block(PinnedBlockPool pool) => _pool = pool;

        public bool Rented { get; set; } = true;

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            // A pipe disposes a segment's memory once; a second dispose must not hand the block out twice.
            if (Rented)
            {
                Rented = false;
                _pool.Return(this);
            }
        }
    }
}
