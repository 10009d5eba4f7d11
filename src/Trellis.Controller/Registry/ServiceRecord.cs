using System.Collections.Immutable;
using System.Net;

namespace Trellis.Controller.Registry;

/// <summary>A service: its stable virtual IP and the ports its current pods serve it on.</summary>
public sealed record ServiceRecord(string Namespace, string Name, IPAddress VirtualIp, ImmutableArray<int> Ports);
