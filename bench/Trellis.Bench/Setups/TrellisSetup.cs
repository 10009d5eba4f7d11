using System.Net;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Setups;

/// <summary>
/// Two trellis-proxies: the client-side one's outbound listener forwards to the server-side one's
/// inbound listener, which forwards to the origin. EVERYTHING about how trellis-proxy is launched is
/// in this file (flags, environment, readiness), so it is trivial to adapt as the proxy's flags settle.
/// The mesh hop is mutual TLS with the run's identities when the proxy's `--help` lists the identity
/// flag (<see cref="IdentityDirFlag"/>); until then the hop is plaintext and the label says so.
/// </summary>
internal sealed class TrellisSetup : ProxyPairSetup
{
    /// <summary>The flag that points the proxy at an identity directory (tls.crt, tls.key, ca.crt).</summary>
    public const string IdentityDirFlag = "--identity-dir";

    /// <summary>The flag that names the identity the client-side proxy expects of its peer.</summary>
    public const string PeerIdentityFlag = "--outbound-destination-identity";

    private string? _help;
    private int _hops = 2;

    public override string Name => "trellis";

    /// <summary>
    /// Says whether the mesh hop is mutual TLS. With one hop there is no mesh hop: every setup then
    /// runs one plaintext proxy and the label is just the name.
    /// </summary>
    public override string Label => _hops == 1 ? "trellis" : MeshTls ? "trellis (mTLS)" : "trellis (plaintext hop: mTLS not yet available)";

    /// <summary>True once the proxy binary advertises the identity flag (read from `trellis-proxy --help`).</summary>
    public bool MeshTls => _help is not null && _help.Contains(IdentityDirFlag, StringComparison.Ordinal);

    /// <summary>Runs `trellis-proxy --help` once so the label and flags match the binary being measured.</summary>
    public async Task InspectAsync(SetupContext context, CancellationToken cancellationToken)
    {
        _hops = context.Hops;
        if (_help is not null || !File.Exists(context.TrellisProxyPath))
        {
            return;
        }
        try
        {
            var (_, output) = await ManagedProcess.RunAsync(context.TrellisProxyPath, ["--help"], TimeSpan.FromSeconds(10), cancellationToken);
            _help = output;
        }
        catch (SetupFailedException)
        {
            _help = "";
        }
    }

    /// <summary>For tests: what `--help` printed and the run's hop count, as <see cref="InspectAsync"/> records them.</summary>
    internal void Inspected(string help, int hops)
    {
        _help = help;
        _hops = hops;
    }

    protected override async Task StartOneAsync(ProxyRole role, BenchProtocol protocol, int listenPort, IPEndPoint destination, SetupContext context, List<ManagedProcess> started, CancellationToken cancellationToken)
    {
        var binary = RequireProgram(context.TrellisProxyPath, "dotnet publish src/Trellis.Proxy -c Release -o bench/.artifacts/trellis, or pass --trellis PATH");
        await InspectAsync(context, cancellationToken);
        var admin = Ports.Free();
        var spare = Ports.Free();
        var args = Arguments(role, listenPort, destination, admin, spare, context);
        var process = await StartProxyAsync(context, $"trellis {RoleName(role)}", binary, args, listenPort, started, cancellationToken);
        await WaitReadyAsync(process, admin, cancellationToken);
    }

    /// <summary>The command line of one trellis-proxy in a role. Both listeners are always given; the unused one gets a spare port.</summary>
    internal List<string> Arguments(ProxyRole role, int listenPort, IPEndPoint destination, int adminPort, int sparePort, SetupContext context)
    {
        var outbound = role == ProxyRole.Server ? sparePort : listenPort;
        var inbound = role == ProxyRole.Server ? listenPort : sparePort;
        var args = new List<string>
        {
            "--outbound-listen", $"127.0.0.1:{outbound}",
            "--inbound-listen", $"127.0.0.1:{inbound}",
            "--admin-listen", $"127.0.0.1:{adminPort}",
        };
        if (role == ProxyRole.Server)
        {
            args.AddRange(["--inbound-destination", destination.ToString()]);
        }
        else
        {
            args.AddRange(["--outbound-destination", destination.ToString()]);
        }
        if (MeshTls && role != ProxyRole.Single)
        {
            var identity = role == ProxyRole.Client ? SetupContext.ClientIdentity : SetupContext.ServerIdentity;
            args.AddRange([IdentityDirFlag, context.Identity(identity)]);
            if (role == ProxyRole.Client)
            {
                args.AddRange([PeerIdentityFlag, Certificates.SpiffeId(SetupContext.ServerIdentity)]);
            }
        }
        return args;
    }

    private static async Task WaitReadyAsync(ManagedProcess process, int adminPort, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(1) };
        string last = "no answer";
        for (var i = 0; i < 100; i++)
        {
            if (process.HasExited)
            {
                throw new SetupFailedException(process.ExitDescription());
            }
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/ready"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "timed out";
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new SetupFailedException($"{process.Name}: admin /ready on 127.0.0.1:{adminPort} never answered 200 ({last})");
    }
}
