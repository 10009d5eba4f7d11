using Trellis.Api.Registry.V1;

namespace Trellis.Cli.Hosts;

/// <summary>What `trellis run` was asked for.</summary>
internal sealed record PodOptions(RegisterRequest Registration, IReadOnlyList<int> SkipInbound, IReadOnlyList<int> SkipOutbound,
    IReadOnlyList<int> OpaquePorts, IReadOnlyList<string> Command);
