using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Trellis.Proxy.IntegrationTests.Http1;

/// <summary>
/// The HTTP/1.1 origin behind the proxy in these tests: Kestrel with a few endpoints, each there
/// for one scenario. Kestrel is the peer nobody here wrote, so framing it accepts is framing a
/// real server accepts.
/// </summary>
internal static class Http1Origin
{
    public const string WebSocketGreeting = "hello from the origin";

    public static Task<KestrelOrigin> StartAsync() => KestrelOrigin.StartAsync(HttpProtocols.Http1, app =>
    {
        app.UseWebSockets();
        app.MapGet("/", () => "hello\n");
        app.MapGet("/status/{code:int}", (int code) => Results.Text($"status {code}\n", statusCode: code));

        // Echoes the body and says how it arrived: framing and Expect as the origin saw them.
        app.MapPost("/echo", async (HttpContext context) =>
        {
            context.Response.Headers["x-saw-transfer-encoding"] = context.Request.Headers.TransferEncoding.ToString();
            context.Response.Headers["x-saw-content-length"] = context.Request.ContentLength?.ToString() ?? "none";
            context.Response.Headers["x-saw-expect"] = context.Request.Headers.Expect.ToString();
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body.ToArray(), context.RequestAborted);
        });

        // Never answers: the proxy's response timeout must fire first; its abort ends the wait.
        app.MapGet("/hang", async (HttpContext context) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
        });

        // The origin speaks first, then echoes every message back until the client closes.
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await socket.SendAsync(Encoding.UTF8.GetBytes(WebSocketGreeting), WebSocketMessageType.Text, true, context.RequestAborted);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            }
        });
    });
}
