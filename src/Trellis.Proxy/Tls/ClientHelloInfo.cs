using System.Net.Security;

namespace Trellis.Proxy.Tls;

/// <summary>The parts of a ClientHello the proxy routes on: the SNI host name and the ALPN offers.</summary>
public sealed class ClientHelloInfo
{
    internal ClientHelloInfo(string? serverName, SslApplicationProtocol[] applicationProtocols)
    {
        ServerName = serverName;
        ApplicationProtocols = applicationProtocols;
    }

    /// <summary>The <c>server_name</c> host name, or null when the client sent none.</summary>
    public string? ServerName { get; }

    /// <summary>The ALPN protocols offered, in the client's order; empty without the extension.</summary>
    public IReadOnlyList<SslApplicationProtocol> ApplicationProtocols { get; }

    public bool Offers(SslApplicationProtocol protocol)
    {
        foreach (var offered in ApplicationProtocols)
        {
            if (offered == protocol)
            {
                return true;
            }
        }

        return false;
    }
}
