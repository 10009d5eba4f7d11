using System.Net;
using System.Text;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// nginx (Debian package), one process (`master_process off`, `worker_processes 1`), keep-alive
/// upstream pools, mutual TLS between the pair. gRPC goes through `grpc_pass` (grpcs:// between the
/// proxies) on `http2` listeners.
/// </summary>
internal sealed class NginxSetup : ProxyPairSetup
{
    public override string Name => "nginx";

    protected override async Task StartOneAsync(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, List<ManagedProcess> started, CancellationToken cancellationToken)
    {
        var nginx = RequireProgram("nginx", "apt-get install -y nginx-light");
        var prefix = Path.Combine(context.ConfigDirectory(Name, protocol), RoleName(role));
        Directory.CreateDirectory(prefix);
        var config = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(config, Config(role, protocol, listenPort, destination, context, prefix), cancellationToken);
        await StartProxyAsync(context, $"nginx {RoleName(role)}", nginx, ["-p", prefix, "-c", config, "-e", "stderr"], listenPort, started, cancellationToken);
    }

    internal static string Config(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, string prefix)
    {
        var grpc = protocol == BenchProtocol.Grpc;
        var ca = Path.Combine(context.Identity(SetupContext.ServerIdentity), "ca.crt");
        var server = context.Identity(SetupContext.ServerIdentity);
        var client = context.Identity(SetupContext.ClientIdentity);
        var sb = new StringBuilder();
        sb.AppendLine("daemon off;");
        sb.AppendLine("master_process off;");
        sb.AppendLine("worker_processes 1;");
        sb.AppendLine($"pid {prefix}/nginx.pid;");
        sb.AppendLine("error_log stderr warn;");
        sb.AppendLine("events { worker_connections 20000; }");
        sb.AppendLine("http {");
        sb.AppendLine("  access_log off;");
        foreach (var temp in new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            sb.AppendLine($"  {temp}_temp_path {prefix}/{temp};");
        }
        sb.AppendLine($"  upstream next {{ server {destination}; keepalive 1024; }}");
        sb.AppendLine("  server {");
        var listen = $"127.0.0.1:{listenPort}" + (role == ProxyRole.Server ? " ssl" : "") + (grpc ? " http2" : "");
        sb.AppendLine($"    listen {listen};");
        if (role == ProxyRole.Server)
        {
            sb.AppendLine($"    ssl_certificate {server}/tls.crt;");
            sb.AppendLine($"    ssl_certificate_key {server}/tls.key;");
            sb.AppendLine($"    ssl_client_certificate {ca};");
            sb.AppendLine("    ssl_verify_client on;");
        }
        sb.AppendLine("    keepalive_requests 1000000;");
        sb.AppendLine("    location / {");
        var tlsUpstream = role == ProxyRole.Client;
        if (grpc)
        {
            sb.AppendLine($"      grpc_pass {(tlsUpstream ? "grpcs" : "grpc")}://next;");
            if (tlsUpstream)
            {
                AppendUpstreamTls(sb, "grpc", client, ca);
            }
        }
        else
        {
            sb.AppendLine($"      proxy_pass {(tlsUpstream ? "https" : "http")}://next;");
            sb.AppendLine("      proxy_http_version 1.1;");
            sb.AppendLine("      proxy_set_header Connection \"\";");
            if (tlsUpstream)
            {
                AppendUpstreamTls(sb, "proxy", client, ca);
            }
        }
        sb.AppendLine("    }");
        sb.AppendLine("  }");
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static void AppendUpstreamTls(StringBuilder sb, string module, string identity, string ca)
    {
        sb.AppendLine($"      {module}_ssl_certificate {identity}/tls.crt;");
        sb.AppendLine($"      {module}_ssl_certificate_key {identity}/tls.key;");
        sb.AppendLine($"      {module}_ssl_trusted_certificate {ca};");
        sb.AppendLine($"      {module}_ssl_verify on;");
        sb.AppendLine($"      {module}_ssl_name localhost;");
        sb.AppendLine($"      {module}_ssl_session_reuse on;");
    }
}
