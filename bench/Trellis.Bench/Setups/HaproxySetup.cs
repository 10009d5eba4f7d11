using System.Net;
using System.Text;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// HAProxy (Debian package) in HTTP mode, one thread (`nbthread 1`), mutual TLS between the pair
/// (both sides present and verify certificates from the run's CA). gRPC uses `proto h2` toward the
/// origin and on the client-facing bind, ALPN h2 between the proxies.
/// </summary>
internal sealed class HaproxySetup : ProxyPairSetup
{
    public override string Name => "haproxy";

    protected override async Task StartOneAsync(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, List<ManagedProcess> started, CancellationToken cancellationToken)
    {
        var haproxy = RequireProgram("haproxy", "apt-get install -y haproxy");
        var dir = context.ConfigDirectory(Name, protocol);
        var config = Path.Combine(dir, $"{RoleName(role)}.cfg");
        await File.WriteAllTextAsync(config, Config(role, protocol, listenPort, destination, context), cancellationToken);
        await StartProxyAsync(context, $"haproxy {RoleName(role)}", haproxy, ["-db", "-f", config], listenPort, started, cancellationToken);
    }

    internal static string Config(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context)
    {
        var h2 = protocol == BenchProtocol.Grpc;
        var alpn = h2 ? "h2" : "http/1.1";
        var ca = Path.Combine(context.Identity(SetupContext.ServerIdentity), "ca.crt");
        var bind = role == ProxyRole.Server
            ? $"bind 127.0.0.1:{listenPort} ssl crt {Path.Combine(context.Identity(SetupContext.ServerIdentity), "combined.pem")} ca-file {ca} verify required alpn {alpn}"
            : $"bind 127.0.0.1:{listenPort}{(h2 ? " proto h2" : "")}";
        var server = role == ProxyRole.Client
            ? $"server next {destination} ssl crt {Path.Combine(context.Identity(SetupContext.ClientIdentity), "combined.pem")} ca-file {ca} verify required alpn {alpn}"
            : $"server origin {destination}{(h2 ? " proto h2" : "")}";
        var sb = new StringBuilder();
        sb.AppendLine("global");
        sb.AppendLine("  nbthread 1");
        sb.AppendLine("  maxconn 4096");
        sb.AppendLine("  tune.ssl.default-dh-param 2048");
        sb.AppendLine("defaults");
        sb.AppendLine("  mode http");
        sb.AppendLine("  timeout connect 5s");
        sb.AppendLine("  timeout client 60s");
        sb.AppendLine("  timeout server 60s");
        sb.AppendLine("  http-reuse always");
        sb.AppendLine("frontend in");
        sb.AppendLine("  " + bind);
        sb.AppendLine("  default_backend out");
        sb.AppendLine("backend out");
        sb.AppendLine("  " + server);
        return sb.ToString();
    }
}
