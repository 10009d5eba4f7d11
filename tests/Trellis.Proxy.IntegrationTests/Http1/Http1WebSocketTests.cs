using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// A WebSocket (HTTP/1.1 Upgrade, then 101) through the proxy: .NET's ClientWebSocket against
/// Kestrel's WebSockets middleware, messages flowing both ways after the switch.
/// </summary>
public class Http1WebSocketTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task WebSocket_MessagesFlowBothWaysThenTheProxyServesTheNextRequest()
    {
        await using var origin = await Http1Origin.StartAsync();
        await using var proxy = await Http1ForwardingTests.StartProxyAsync(origin);
        using var cancellation = new CancellationTokenSource(Patience);
        using var socket = new ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://{proxy.Outbound}/ws"), cancellation.Token);

        // Server to client first: the origin speaks as soon as the switch is done.
        Assert.Equal(Http1Origin.WebSocketGreeting, await ReceiveTextAsync(socket, cancellation.Token));
        foreach (var message in new[] { "one", "two", new string('x', 100_000) })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, cancellation.Token);
            Assert.Equal(message, await ReceiveTextAsync(socket, cancellation.Token));
        }

        var binary = RandomNumberGenerator.GetBytes(32 * 1024);
        await socket.SendAsync(binary, WebSocketMessageType.Binary, true, cancellation.Token);
        Assert.Equal(binary, await ReceiveBinaryAsync(socket, cancellation.Token));

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellation.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        await Http1ForwardingTests.AssertServesAsync(proxy);
        var metrics = await proxy.MetricsAsync();
        Assert.Equal(1, MetricsText.Sum(metrics, "response_total", "status_code=\"101\""));
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket, CancellationToken cancellationToken) =>
        Encoding.UTF8.GetString(await ReceiveBinaryAsync(socket, cancellationToken));

    private static async Task<byte[]> ReceiveBinaryAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return message.ToArray();
    }
}
