using System.Text;

namespace Trellis.Proxy.Tests.Http.Http1;

public class Http1ForwarderRobustnessTests
{
    private static readonly string[] Requests =
    [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ];

    private static readonly string[] Responses =
    [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nraw",
        "HTTP/1.1 200 OK\r\n\r\nuntil close",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\nbare: lf\n\n",
        string.Empty,
    ];

    /// <summary>
    /// Valid requests, mutated requests and random bytes, against an upstream that answers with
    /// valid, broken or no responses: ServeAsync must always finish, never throw, and never hang.
    /// </summary>
    [Fact]
    public async Task ServeAsync_RandomizedGarbage_NeverThrowsOrHangs()
    {
        var random = new Random(20261125);
        await using var harness = new Http1Harness(new Http1Options_Small().Options);
        using var stop = new CancellationTokenSource();
        var upstreams = AnswerUpstreamsAsync(harness, new Random(7), stop.Token);

        for (var i = 0; i < 1000; i++)
        {
            var (client, served) = harness.Connect();
            var input = Generate(random);
            var offset = 0;
            while (offset < input.Length)
            {
                // Dribble the input in random pieces, so heads split across reads too.
                var piece = Math.Min(input.Length - offset, random.Next(1, 64));
                await client.WriteAsync(input[offset..(offset + piece)]);
                offset += piece;
            }

            client.Complete();
            var drained = client.ClosedAsync();
            await served.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(await drained);
        }

        // Pooled upstream connections stay open until the forwarder closes them.
        await stop.CancelAsync();
        await harness.DisposeAsync();
        await upstreams.WaitAsync(TimeSpan.FromSeconds(10));

        // The session's catch-all logs at Error: anything there is a bug that input reached.
        Assert.DoesNotContain(harness.Logger.Entries, entry => entry.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    private static byte[] Generate(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                var bytes = new byte[random.Next(1, 300)];
                random.NextBytes(bytes);
                return bytes;
            case 1:
                // A valid request with a few bytes flipped to one of HTTP's delimiters or controls.
                var mutated = Encoding.Latin1.GetBytes(Requests[random.Next(Requests.Length)]);
                byte[] specials = [(byte)'\r', (byte)'\n', (byte)' ', (byte)':', 0, (byte)'\t', (byte)';', (byte)',', 0xFF, (byte)'0'];
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    mutated[random.Next(mutated.Length)] = specials[random.Next(specials.Length)];
                }

                return mutated;
            case 2:
                // Several valid requests back to back, possibly cut short.
                var text = new StringBuilder();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    text.Append(Requests[random.Next(Requests.Length)]);
                }

                var all = Encoding.Latin1.GetBytes(text.ToString());
                return all[..random.Next(1, all.Length + 1)];
            default:
                return Encoding.Latin1.GetBytes(Requests[random.Next(Requests.Length)]);
        }
    }

    private static async Task AnswerUpstreamsAsync(Http1Harness harness, Random random, CancellationToken stop)
    {
        var answering = new List<Task>();
        try
        {
            while (true)
            {
                var upstream = await harness.Connector.AcceptAsync().WaitAsync(stop);
                answering.Add(AnswerAsync(upstream, Responses[random.Next(Responses.Length)]));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(answering);
    }

    private static async Task AnswerAsync(TestPeer upstream, string response)
    {
        var drained = upstream.ClosedAsync();
        try
        {
            await upstream.WriteAsync(response);
        }
        catch (Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            // The proxy gave up on this exchange first.
        }

        upstream.Complete();
        await drained;
    }

    /// <summary>Small limits so random input reaches them.</summary>
    private sealed class Http1Options_Small
    {
        public Trellis.Proxy.Http.Http1.Http1Options Options { get; } = new()
        {
            MaxRequestHeadBytes = 256,
            MaxRequestLineBytes = 64,
            MaxHeaderCount = 8,
            MaxChunkLineBytes = 16,
            MaxResponseHeadBytes = 256,
        };
    }
}
