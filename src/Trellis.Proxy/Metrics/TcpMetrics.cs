namespace Trellis.Proxy.Metrics;

/// <summary>Pre-bound connection counters of one direction, peer and TLS state.</summary>
public sealed class TcpMetrics
{
    private readonly ProxyMetrics _metrics;
    private readonly string[] _labels;

    internal TcpMetrics(ProxyMetrics metrics, string direction, string peer, string tls)
    {
        _metrics = metrics;
        _labels = [direction, peer, tls];
        Opened = metrics.TcpOpenTotal.WithLabels(_labels);
        Open = metrics.TcpOpenConnections.WithLabels(_labels);
        ReadBytes = metrics.TcpReadBytesTotal.WithLabels(_labels);
        WriteBytes = metrics.TcpWriteBytesTotal.WithLabels(_labels);
    }

    public Counter Opened { get; }

    public Gauge Open { get; }

    public Counter ReadBytes { get; }

    public Counter WriteBytes { get; }

    public void ConnectionOpened()
    {
        Opened.Increment();
        Open.Increment();
    }

    /// <param name="errno">Empty for a clean close, else a short reason such as <c>ECONNRESET</c>.</param>
    public void ConnectionClosed(string errno)
    {
        Open.Decrement();
        _metrics.TcpCloseTotal.WithLabels(_labels[0], _labels[1], _labels[2], errno).Increment();
    }
}
