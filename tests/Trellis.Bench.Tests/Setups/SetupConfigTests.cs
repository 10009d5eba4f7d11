using System.Net;
using Trellis.Bench.Orchestration;
using Trellis.Bench.Setups;

namespace Trellis.Bench.Tests.Setups;

public sealed class SetupConfigTests
{
    private static readonly SetupContext Context = new()
    {
        RunDirectory = "/tmp/run",
        Hops = 2,
        Cpu = new CpuPlan(true, 0, 1),
        OriginHttp1 = new IPEndPoint(IPAddress.Loopback, 9001),
        OriginGrpc = new IPEndPoint(IPAddress.Loopback, 9002),
        Identities = new Dictionary<string, string> { ["client-proxy"] = "/c", ["server-proxy"] = "/s" },
        YarpForwarderPath = "/y",
        TrellisProxyPath = "/t",
    };

    [Fact]
    public void HaproxyConfig_ClientSide_OneThreadAndMutualTlsUpstream()
    {
        var config = HaproxySetup.Config(ProxyRole.Client, BenchProtocol.Grpc, 7000, new IPEndPoint(IPAddress.Loopback, 7001), Context);
        Assert.Contains("nbthread 1", config);
        Assert.Contains("bind 127.0.0.1:7000 proto h2", config);
        Assert.Contains("server next 127.0.0.1:7001 ssl crt /c/combined.pem ca-file /s/ca.crt verify required alpn h2", config);
    }

    [Fact]
    public void HaproxyConfig_ServerSide_RequiresClientCertificate()
    {
        var config = HaproxySetup.Config(ProxyRole.Server, BenchProtocol.Http1, 7001, Context.OriginHttp1, Context);
        Assert.Contains("bind 127.0.0.1:7001 ssl crt /s/combined.pem ca-file /s/ca.crt verify required alpn http/1.1", config);
        Assert.Contains("server origin 127.0.0.1:9001", config);
    }

    [Fact]
    public void NginxConfig_ServerSide_OneProcessAndVerifiesClients()
    {
        var config = NginxSetup.Config(ProxyRole.Server, BenchProtocol.Grpc, 7001, Context.OriginGrpc, Context, "/p");
        Assert.Contains("worker_processes 1;", config);
        Assert.Contains("master_process off;", config);
        Assert.Contains("listen 127.0.0.1:7001 ssl http2;", config);
        Assert.Contains("ssl_verify_client on;", config);
        Assert.Contains("grpc_pass grpc://next;", config);
    }

    [Fact]
    public void NginxConfig_ClientSide_Http1OverTlsWithKeepAlive()
    {
        var config = NginxSetup.Config(ProxyRole.Client, BenchProtocol.Http1, 7000, new IPEndPoint(IPAddress.Loopback, 7001), Context, "/p");
        Assert.Contains("proxy_pass https://next;", config);
        Assert.Contains("proxy_ssl_certificate /c/tls.crt;", config);
        Assert.Contains("proxy_set_header Connection \"\";", config);
    }

    [Fact]
    public void TrellisArguments_WithoutMeshTls_PlaintextWithLabel()
    {
        var setup = new TrellisSetup();
        var client = setup.Arguments(ProxyRole.Client, 7000, new IPEndPoint(IPAddress.Loopback, 7001), 7100, 7200, Context);
        Assert.Equal(["--outbound-listen", "127.0.0.1:7000", "--inbound-listen", "127.0.0.1:7200", "--admin-listen", "127.0.0.1:7100", "--outbound-destination", "127.0.0.1:7001"], client);
        var server = setup.Arguments(ProxyRole.Server, 7001, Context.OriginHttp1, 7101, 7201, Context);
        Assert.Contains("--inbound-destination", server);
        Assert.Contains("127.0.0.1:9001", server);
        Assert.Contains("plaintext hop", setup.Label);
    }

    [Fact]
    public void TrellisArguments_WithIdentityFlagsInHelp_MutualTlsBetweenTheProxies()
    {
        var setup = new TrellisSetup();
        setup.Inspected("  --identity-dir <value>  ...\n  --outbound-destination-identity <value>  ...", hops: 2);
        var client = setup.Arguments(ProxyRole.Client, 7000, new IPEndPoint(IPAddress.Loopback, 7001), 7100, 7200, Context);
        var server = setup.Arguments(ProxyRole.Server, 7001, Context.OriginHttp1, 7101, 7201, Context);
        Assert.Equal(["--identity-dir", Context.Identity(SetupContext.ClientIdentity), "--outbound-destination-identity", "spiffe://trellis.local/ns/bench/sa/server-proxy"], client.TakeLast(4));
        Assert.Equal(["--identity-dir", Context.Identity(SetupContext.ServerIdentity)], server.TakeLast(2));
        Assert.DoesNotContain("--outbound-destination-identity", server);
        Assert.Equal("trellis (mTLS)", setup.Label);
    }

    [Fact]
    public void TrellisArguments_OneHop_PlaintextSingleProxyAndPlainLabel()
    {
        var setup = new TrellisSetup();
        setup.Inspected("  --identity-dir <value>  ...", hops: 1);
        var single = setup.Arguments(ProxyRole.Single, 7000, Context.OriginHttp1, 7100, 7200, Context);
        Assert.DoesNotContain("--identity-dir", single);
        Assert.Equal("trellis", setup.Label);
    }

    [Fact]
    public void CpuPlan_Pinned_WrapsWithTaskset()
    {
        var (file, args) = Context.Cpu.Wrap("haproxy", ["-db"], proxy: true);
        Assert.Equal("taskset", file);
        Assert.Equal(["-c", "1", "haproxy", "-db"], args);
    }

    [Fact]
    public void SetupCatalog_UnknownName_Throws()
    {
        Assert.Throws<ArgumentException>(() => SetupCatalog.Create("envoy"));
    }
}
