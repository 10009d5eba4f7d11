using Grpc.Core;

namespace Trellis.Controller.Tests.Destination;

/// <summary>A server stream that keeps every message written to it.</summary>
internal sealed class RecordingStreamWriter<T> : IServerStreamWriter<T>
{
    public List<T> Updates { get; } = [];

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Updates.Add(message);
        return Task.CompletedTask;
    }
}
