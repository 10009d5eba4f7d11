using System.Net;
using Trellis.Api.Destination.V1;
using Endpoint = Trellis.Api.Destination.V1.Endpoint;

namespace Trellis.Controller.Destination;

/// <summary>What one destination resolves to in one registry snapshot.</summary>
/// <param name="Exists">The service (or pod) is known.</param>
/// <param name="Endpoints">Ready endpoints by address.</param>
/// <param name="Labels">Labels of the destination as a whole.</param>
public sealed record DestinationView(bool Exists, IReadOnlyDictionary<IPEndPoint, Endpoint> Endpoints, IReadOnlyDictionary<string, string> Labels);
