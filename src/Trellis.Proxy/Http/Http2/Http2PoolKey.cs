using System.Net;

namespace Trellis.Proxy.Http.Http2;

/// <summary>What makes two upstream connections interchangeable: the address and the mesh identity it must prove.</summary>
internal readonly record struct Http2PoolKey(IPEndPoint Address, string? Identity);
