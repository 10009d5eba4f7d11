using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Trellis.Cli.Hosts;
using Trellis.Testing;

namespace Trellis.Cli.Tests.Hosts;

public sealed class ProxyProbeTests
{
    [Fact]
    public async Task ProblemAsync_ReadyProxy_IsNull()
    {
        await using var proxy = await AdminAsync(StatusCodes.Status200OK);
        using var http = new HttpClient();

        Assert.Null(await ProxyProbe.ProblemAsync(http, "127.0.0.1", proxy.EndPoint.Port, CancellationToken.None));
    }

    [Fact]
    public async Task ProblemAsync_ProxyNotYetCertified_NamesTheStatus()
    {
        await using var proxy = await AdminAsync(StatusCodes.Status503ServiceUnavailable);
        using var http = new HttpClient();

        var problem = await ProxyProbe.ProblemAsync(http, "127.0.0.1", proxy.EndPoint.Port, CancellationToken.None);

        Assert.Equal($"http://127.0.0.1:{proxy.EndPoint.Port}/ready answered 503: not yet certified or draining", problem);
    }

    [Fact]
    public async Task ProblemAsync_NothingListening_SaysUnreachable()
    {
        using var http = new HttpClient();

        var problem = await ProxyProbe.ProblemAsync(http, "127.0.0.1", ClosedPort(), CancellationToken.None);

        Assert.NotNull(problem);
        Assert.Contains("/ready unreachable", problem, StringComparison.Ordinal);
    }

    private static Task<KestrelOrigin> AdminAsync(int readyStatus) =>
        KestrelOrigin.StartAsync(HttpProtocols.Http1, app => app.MapGet("/ready", () => Results.StatusCode(readyStatus)));

    /// <summary>A loopback port that was just free: bound, read, released.</summary>
    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
