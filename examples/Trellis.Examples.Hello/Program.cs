// A tiny HTTP service for the demo: answers on every path, fails on request, and is slow on
// request, so the proxy's success rate and latency metrics have something to show.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

app.MapGet("/", () => "hello from the trellis demo\n");
app.MapGet("/status/{code:int}", (int code) => Results.Text($"status {code}\n", statusCode: code));
app.MapGet("/slow/{milliseconds:int}", async (int milliseconds) =>
{
    await Task.Delay(Math.Clamp(milliseconds, 0, 10_000));
    return $"slept {milliseconds} ms\n";
});
app.MapPost("/echo", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    return await reader.ReadToEndAsync();
});

app.Run();
