using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Trellis.Proxy.Async;

/// <summary>
/// The heap half of a suspended async method built by <see cref="PooledValueTaskMethodBuilder{TResult}"/>:
/// the completion its caller awaits. Reset and returned to its pool when the caller reads the result.
/// </summary>
internal abstract class PooledValueTaskBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    // Continuations run inline on completion, as with the runtime's pooling builder: the
    // proxy's I/O continuations already run on the socket thread that completed them.
    private ManualResetValueTaskSourceCore<TResult> _completion;

    public short Version => _completion.Version;

    public void SetResult(TResult result) => _completion.SetResult(result);

    public void SetException(Exception error) => _completion.SetException(error);

    public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        // A failed box is dropped rather than reused: GetResult throws before the return.
        var result = _completion.GetResult(token);
        _completion.Reset();
        Recycle();
        return result;
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    /// <summary>Clears what the finished method held and offers the box back to its pool.</summary>
    protected abstract void Recycle();
}

/// <summary>
/// A box for one async method (one state-machine type): the state machine's fields, the
/// execution context to resume in, and a cached MoveNext delegate so awaiting allocates nothing.
/// Each type keeps up to <see cref="PoolSize"/> free boxes, one of them per thread for the
/// common case of a method suspending and resuming on the same socket thread.
/// </summary>
internal sealed class PooledStateMachineBox<TResult, TStateMachine> : PooledValueTaskBox<TResult>
    where TStateMachine : IAsyncStateMachine
{
    /// <summary>
    /// Free boxes kept per async method: about one per concurrent request, so a proxy serving
    /// a few hundred connections reuses every box, and the memory held stays bounded.
    /// </summary>
    public const int PoolSize = 256;

    private static readonly ContextCallback ResumeInContext = static box => ((PooledStateMachineBox<TResult, TStateMachine>)box!).StateMachine.MoveNext();
    private static readonly PooledStateMachineBox<TResult, TStateMachine>?[] Pool = new PooledStateMachineBox<TResult, TStateMachine>?[PoolSize];
    private static readonly Lock PoolLock = new();
    private static int _pooled;

    [ThreadStatic]
    private static PooledStateMachineBox<TResult, TStateMachine>? _threadCached;

    public PooledStateMachineBox() => MoveNextAction = MoveNext;

    public TStateMachine StateMachine = default!;

    /// <summary>The context captured at the last await whose awaiter does not flow one itself; null when it does.</summary>
    public ExecutionContext? Context;

    public Action MoveNextAction { get; }

    public static PooledStateMachineBox<TResult, TStateMachine> Rent()
    {
        var box = _threadCached;
        if (box is not null)
        {
            _threadCached = null;
            return box;
        }

        lock (PoolLock)
        {
            if (_pooled > 0)
            {
                box = Pool[--_pooled]!;
                Pool[_pooled] = null;
                return box;
            }
        }

        return new PooledStateMachineBox<TResult, TStateMachine>();
    }

    protected override void Recycle()
    {
        StateMachine = default!;
        Context = null;
        if (_threadCached is null)
        {
            _threadCached = this;
            return;
        }

        lock (PoolLock)
        {
            if (_pooled < PoolSize)
            {
                Pool[_pooled++] = this;
            }
        }
    }

    private void MoveNext()
    {
        var context = Context;
        if (context is null)
        {
            StateMachine.MoveNext();
        }
        else
        {
            ExecutionContext.Run(context, ResumeInContext, this);
        }
    }
}
