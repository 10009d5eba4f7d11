using System.Net;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>Everything a setup needs to start its proxies: origin addresses, certificates, pinning, binaries.</summary>
internal sealed class SetupContext
{
    public const string ClientIdentity = "client-proxy";
    public const string ServerIdentity = "server-proxy";

    public required string RunDirectory { get; init; }

    /// <summary>1: client -> proxy -> origin, plaintext. 2: client -> proxy -> TLS -> proxy -> origin.</summary>
    public required int Hops { get; init; }

    public required CpuPlan Cpu { get; init; }

    public required IPEndPoint OriginHttp1 { get; init; }

    public required IPEndPoint OriginGrpc { get; init; }

    /// <summary>Identity directories (tls.crt, tls.key, ca.crt, combined.pem) by identity name.</summary>
    public required IReadOnlyDictionary<string, string> Identities { get; init; }

    public required string YarpForwarderPath { get; init; }

    public required string TrellisProxyPath { get; init; }

    public IPEndPoint Origin(BenchProtocol protocol) => protocol == BenchProtocol.Http1 ? OriginHttp1 : OriginGrpc;

    public string Identity(string name) => Identities[name];

    /// <summary>A fresh directory for one start of one setup's configuration files.</summary>
    public string ConfigDirectory(string setup, BenchProtocol protocol)
    {
        var dir = Path.Combine(RunDirectory, "config", $"{setup}-{protocol.ToString().ToLowerInvariant()}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
