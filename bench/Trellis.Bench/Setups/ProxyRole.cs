namespace Trellis.Bench.Setups;

/// <summary>What one proxy process does in a topology.</summary>
internal enum ProxyRole
{
    /// <summary>The only proxy (--hops 1): plaintext in, plaintext to the origin.</summary>
    Single,

    /// <summary>Client side of the mesh: plaintext from the client, TLS to the server-side proxy.</summary>
    Client,

    /// <summary>Server side of the mesh: TLS from the client-side proxy, plaintext to the origin.</summary>
    Server,
}
