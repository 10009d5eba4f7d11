namespace Trellis.Proxy.Discovery;

/// <summary>What the destination service said about one endpoint, built once per update.</summary>
/// <param name="Identity">The peer proxy's SPIFFE ID, or null when unmeshed.</param>
/// <param name="Labels">Destination and endpoint metric labels, merged.</param>
public sealed record DestinationEndpoint(string? Identity, ProtocolHint ProtocolHint, IReadOnlyDictionary<string, string> Labels);
