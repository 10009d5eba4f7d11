namespace Trellis.Bench.Setups;

/// <summary>The application protocol one benchmark phase speaks end to end.</summary>
internal enum BenchProtocol
{
    /// <summary>HTTP/1.1 `GET /`, keep-alive.</summary>
    Http1,

    /// <summary>gRPC unary echo over HTTP/2 (h2c at the edges, h2 over TLS between proxies).</summary>
    Grpc,
}
