using Microsoft.Extensions.Logging;
using Trellis.Proxy.Discovery;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Http.Http2;

/// <summary>What every connection and exchange of one <see cref="Http2Forwarder"/> shares.</summary>
internal sealed class Http2RelayContext
{
    public Http2RelayContext(
        IDestinationResolver resolver, IUpstreamConnector connector, ProxyMetrics metrics, Http2Options options, TimeProvider time, ILogger logger)
    {
        Resolver = resolver;
        Metrics = metrics;
        Options = options;
        Time = time;
        Logger = logger;
        Pool = new Http2UpstreamPool(this, connector);
        ResponseIdleTimeoutTicks = options.ResponseIdleTimeout == Timeout.InfiniteTimeSpan
            ? 0
            : (long)(options.ResponseIdleTimeout.TotalSeconds * time.TimestampFrequency);
    }

    public IDestinationResolver Resolver { get; }

    public ProxyMetrics Metrics { get; }

    public Http2Options Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public Http2UpstreamPool Pool { get; }

    /// <summary>The response idle timeout in <see cref="TimeProvider.GetTimestamp"/> ticks; 0 when infinite.</summary>
    public long ResponseIdleTimeoutTicks { get; }
}
