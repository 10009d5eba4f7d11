using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Trellis.Proxy.Tests.Http.Http1;

/// <summary>
/// The far end of an in-memory connection (the client, or a scripted upstream): writes text,
/// reads what the proxy sent. Every read gives up after a bound so a broken proxy fails the test
/// instead of hanging it.
/// </summary>
internal sealed class TestPeer
{
    private static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(10);

    public TestPeer(IDuplexPipe pipe)
    {
        Pipe = pipe;
    }

    public IDuplexPipe Pipe { get; }

    public async Task WriteAsync(string text)
    {
        await Pipe.Output.WriteAsync(Encoding.Latin1.GetBytes(text));
    }

    public async Task WriteAsync(byte[] bytes)
    {
        await Pipe.Output.WriteAsync(bytes);
    }

    public void Complete() => Pipe.Output.Complete();

    /// <summary>Reads up to and including <paramref name="marker"/>; null if the connection ended first.</summary>
    public async Task<string?> ReadUntilAsync(string marker)
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        while (true)
        {
            var result = await Pipe.Input.ReadAsync(timeout.Token);
            var text = Encoding.Latin1.GetString(result.Buffer);
            var index = text.IndexOf(marker, StringComparison.Ordinal);
            if (index >= 0)
            {
                Pipe.Input.AdvanceTo(result.Buffer.GetPosition(index + marker.Length));
                return text[..(index + marker.Length)];
            }

            Pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    public async Task<string> ReadHeadAsync() =>
        await ReadUntilAsync("\r\n\r\n") ?? throw new InvalidOperationException("connection ended before a head");

    public async Task<string> ReadExactlyAsync(int count)
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        while (true)
        {
            var result = await Pipe.Input.ReadAsync(timeout.Token);
            if (result.Buffer.Length >= count)
            {
                var slice = result.Buffer.Slice(0, count);
                var text = Encoding.Latin1.GetString(slice);
                Pipe.Input.AdvanceTo(slice.End);
                return text;
            }

            Pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                throw new InvalidOperationException($"connection ended after {result.Buffer.Length} of {count} bytes");
            }
        }
    }

    /// <summary>Reads a response (or request) with a Content-Length body: head and body.</summary>
    public async Task<(string Head, string Body)> ReadMessageAsync()
    {
        var head = await ReadHeadAsync();
        var length = 0;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line["content-length:".Length..].Trim());
            }
        }

        return (head, length > 0 ? await ReadExactlyAsync(length) : string.Empty);
    }

    /// <summary>True once the proxy closed its end, normally or by aborting; data before that is skipped.</summary>
    public async Task<bool> ClosedAsync()
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        try
        {
            while (true)
            {
                var result = await Pipe.Input.ReadAsync(timeout.Token);
                Pipe.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return true;
                }
            }
        }
        catch (Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            return true;
        }
    }

    /// <summary>Reads until the proxy completes the pipe; returns everything that arrived.</summary>
    public async Task<string> ReadToEndAsync()
    {
        using var timeout = new CancellationTokenSource(ReadBound);
        while (true)
        {
            var result = await Pipe.Input.ReadAsync(timeout.Token);
            if (result.IsCompleted)
            {
                var text = Encoding.Latin1.GetString(result.Buffer);
                Pipe.Input.AdvanceTo(result.Buffer.End);
                return text;
            }

            Pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
