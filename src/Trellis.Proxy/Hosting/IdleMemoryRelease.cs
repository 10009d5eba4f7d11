namespace Trellis.Proxy.Hosting;

/// <summary>
/// Gives memory back once the proxy has carried no traffic for a quiet period. Traffic leaves
/// memory behind that an idle proxy does not need: the GC keeps the regions a burst grew into,
/// the socket pool keeps its free blocks, the C heap keeps what OpenSSL freed, and the code of
/// the TLS handshake and the HTTP paths stays resident. A proxy sits beside every pod and most
/// pods are idle most of the time, so what an idle proxy holds is multiplied the most; measured
/// on the benchmark's meshed pair after <c>wrk -c20</c> for 5 s, the proxies held 17.0-17.2 MB
/// (8.7 anonymous) for as long as they stayed quiet.
/// </summary>
/// <remarks>
/// Traffic is what the proxy's own connection metrics count: connections opened and closed and
/// bytes read, on both sides, and the shared connections under the tunnels to meshed peers. The
/// counters move on every read, so sampling them every half quiet period costs the hot path
/// nothing. A proxy that stays quiet is released once, and again only after traffic has moved
/// them; closing idle pooled connections counts as traffic, since it frees what they held. It
/// starts as released: start-up gives its own memory back just before.
/// </remarks>
internal sealed class IdleMemoryRelease : IDisposable
{
    private readonly Func<long> _traffic;
    private readonly Action _release;
    private readonly ITimer _timer;
    private long _lastTraffic;
    private int _quietSamples;
    private bool _released = true;

    /// <param name="quietPeriod">How long the traffic counters must stay still before <paramref name="release"/> runs.</param>
    /// <param name="traffic">A figure that moves whenever the proxy carries traffic.</param>
    /// <param name="release">Gives memory back; runs on a timer thread.</param>
    public IdleMemoryRelease(TimeSpan quietPeriod, Func<long> traffic, Action release, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(quietPeriod, TimeSpan.Zero);
        _traffic = traffic;
        _release = release;
        _lastTraffic = traffic();
        var samplePeriod = quietPeriod / 2;
        _timer = time.CreateTimer(static state => ((IdleMemoryRelease)state!).Sample(), this, samplePeriod, samplePeriod);
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Two samples in a row without traffic span at least the quiet period.</summary>
    private void Sample()
    {
        var traffic = _traffic();
        if (traffic != _lastTraffic)
        {
            (_lastTraffic, _quietSamples, _released) = (traffic, 0, false);
            return;
        }

        if (!_released && ++_quietSamples >= 2)
        {
            _released = true;
            _release();
        }
    }
}
