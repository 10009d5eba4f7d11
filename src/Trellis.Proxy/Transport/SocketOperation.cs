using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Trellis.Proxy.Transport;

/// <summary>What one receive or send did: the bytes it moved, or why it failed.</summary>
internal readonly record struct SocketResult(int BytesTransferred, SocketError Error)
{
    public bool Succeeded => Error == SocketError.Success;
}

/// <summary>
/// A socket's receives (or sends) as one reusable awaitable that reports a failure as a
/// <see cref="SocketError"/> instead of throwing. Written here in place of
/// <c>Socket.ReceiveAsync(Memory)</c> and <c>SendAsync</c> because of what those do with an
/// error: they throw a SocketException whose stack trace they first format as text, which reads
/// the binary's method metadata and stack-trace tables. A reset connection is routine for a
/// proxy (a client that stops mid-response, a load generator ending its run), and each one made
/// the proxy format a stack trace: gdb on the client-side proxy counted 36 over one 20-connection
/// `wrk` run, and smaps put 0.4 MB of those tables resident after it that were not before.
/// Continuations run inline on the thread that completed the operation, like the socket's own
/// awaitables under DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS (set in Program.cs).
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs, IValueTaskSource<SocketResult>
{
    private ManualResetValueTaskSourceCore<SocketResult> _completion;

    // The proxy carries no ambient state across socket completions: nothing to flow.
    public SocketOperation()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Receives into <paramref name="buffer"/>; an empty buffer waits for data without taking any.</summary>
    /// <exception cref="ObjectDisposedException">The socket was closed before the receive started.</exception>
    public ValueTask<SocketResult> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        return Completion(socket.ReceiveAsync(this));
    }

    /// <summary>Sends all of <paramref name="buffer"/>.</summary>
    /// <exception cref="ObjectDisposedException">The socket was closed before the send started.</exception>
    public ValueTask<SocketResult> SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        // The socket only reads a send's buffer.
        SetBuffer(MemoryMarshal.AsMemory(buffer));
        return Completion(socket.SendAsync(this));
    }

    SocketResult IValueTaskSource<SocketResult>.GetResult(short token)
    {
        var result = _completion.GetResult(token);
        _completion.Reset();
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<SocketResult>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<SocketResult>.OnCompleted(
        Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e) =>
        _completion.SetResult(new SocketResult(BytesTransferred, SocketError));

    private ValueTask<SocketResult> Completion(bool pending) => pending
        ? new ValueTask<SocketResult>(this, _completion.Version)
        : new ValueTask<SocketResult>(new SocketResult(BytesTransferred, SocketError));
}
