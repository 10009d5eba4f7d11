namespace Trellis.Proxy.Admin;

/// <summary>What <c>/ready</c> reports: ready once every listener accepts, not while draining.</summary>
public sealed class ProxyState
{
    private volatile bool _listening;
    private volatile bool _draining;

    public bool IsReady => _listening && !_draining;

    public void MarkListening() => _listening = true;

    public void MarkDraining() => _draining = true;
}
