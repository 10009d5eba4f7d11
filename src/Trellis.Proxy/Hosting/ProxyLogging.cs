using Microsoft.Extensions.Logging;

namespace Trellis.Proxy.Hosting;

/// <summary>
/// Logs to stderr, one line per event, quiet by default. <c>TRELLIS_LOG</c> sets the level
/// (error, warn, info, debug, trace, off); <c>TRELLIS_LOG_FORMAT=json</c> gives structured JSON lines.
/// </summary>
public static class ProxyLogging
{
    public const string LevelVariable = "TRELLIS_LOG";
    public const string FormatVariable = "TRELLIS_LOG_FORMAT";

    /// <summary>Parses a level name; null when the name is not one of ours.</summary>
    public static LogLevel? ParseLevel(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "info" or "information" => LogLevel.Information,
        "debug" => LogLevel.Debug,
        "trace" => LogLevel.Trace,
        "off" or "none" => LogLevel.None,
        _ => null,
    };

    public static ILoggerFactory Create(LogLevel level, bool json) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(level);
            if (json)
            {
                builder.AddJsonConsole(options =>
                {
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    options.UseUtcTimestamp = true;
                });
            }
            else
            {
                builder.AddSimpleConsole(options =>
                {
                    options.SingleLine = true;
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    options.UseUtcTimestamp = true;
                });
            }

            builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        });
}
