namespace Trellis.Bench.Orchestration;

/// <summary>
/// One setup's proxies once quiet after traffic: started afresh, driven by a few seconds of
/// saturating HTTP/1.1, then left without any traffic for the run's quiet period. What a proxy
/// beside an idle pod holds, which the idle figure (ready, before any traffic) does not show.
/// </summary>
internal sealed record QuietResult(string Setup, IReadOnlyList<ProxyQuietMemory> Proxies, string? Error = null)
{
    public bool Ok => Error is null;
}

/// <summary>RSS and anonymous kB of one proxy process at the end of the quiet period.</summary>
internal sealed record ProxyQuietMemory(string Name, long RssKb, long AnonKb);
