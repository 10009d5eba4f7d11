using System.Net;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// Two minimal Yarp.ReverseProxy forwarders (bench/YarpForwarder, NativeAOT, `MapForwarder`), run as
/// they come, with mutual TLS between them: what a plain .NET proxy costs.
/// </summary>
internal sealed class YarpSetup : ProxyPairSetup
{
    public override string Name => "yarp";

    protected override async Task StartOneAsync(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, List<ManagedProcess> started, CancellationToken cancellationToken)
    {
        var binary = RequireProgram(context.YarpForwarderPath, "bench/run.sh publishes it; or pass --yarp PATH");
        var args = new List<string>
        {
            "--listen", $"127.0.0.1:{listenPort}",
            "--protocol", protocol == BenchProtocol.Grpc ? "h2" : "h1",
            "--destination", $"{(role == ProxyRole.Client ? "https" : "http")}://{destination}",
        };
        if (role == ProxyRole.Server)
        {
            args.AddRange(["--tls-dir", context.Identity(SetupContext.ServerIdentity)]);
        }
        if (role == ProxyRole.Client)
        {
            args.AddRange(["--upstream-tls-dir", context.Identity(SetupContext.ClientIdentity)]);
        }
        await StartProxyAsync(context, $"yarp {RoleName(role)}", binary, args, listenPort, started, cancellationToken);
    }
}
