using System.CommandLine;
using System.CommandLine.Parsing;
using System.Collections.Frozen;
using System.Globalization;
using System.Net;

namespace Trellis.Proxy.Configuration;

/// <summary>
/// The proxy's flags. Each flag also reads <c>TRELLIS_PROXY_&lt;FLAG&gt;</c> (upper case,
/// dashes as underscores) so an injector can configure it by environment; a flag wins.
/// </summary>
public static class ProxyCommandLine
{
    /// <summary>Linkerd's default opaque ports: SMTP, MySQL, Galera, PostgreSQL, Redis, Elasticsearch, Memcached.</summary>
    public const string DefaultOpaquePorts = "25,587,3306,4444,5432,6379,9300,11211";

    private static readonly Flag<IPEndPoint> OutboundListen = Endpoint("--outbound-listen", "127.0.0.1:4140", "Address for connections the application opens (redirected here by iptables).");
    private static readonly Flag<IPEndPoint> InboundListen = Endpoint("--inbound-listen", "0.0.0.0:4143", "Address for connections to the application from other workloads.");
    private static readonly Flag<IPEndPoint> AdminListen = Endpoint("--admin-listen", "0.0.0.0:4191", "Address of the admin server: /metrics, /ready, /live, POST /shutdown.");
    private static readonly Flag<IPEndPoint?> OutboundDestination = OptionalEndpoint("--outbound-destination", "Send all outbound traffic here instead of to its original destination (no interception).");
    private static readonly Flag<IPEndPoint?> InboundDestination = OptionalEndpoint("--inbound-destination", "Send all inbound traffic here instead of 127.0.0.1:<original port>.");
    private static readonly Flag<FrozenSet<int>> OpaquePorts = Ports("--opaque-ports", DefaultOpaquePorts, "Comma-separated destination ports forwarded as TCP without protocol detection (server-speaks-first protocols).");
    private static readonly Flag<TimeSpan> DetectTimeout = Duration("--detect-timeout", "10s", "How long to wait for a client's first bytes before forwarding it as opaque TCP.");
    private static readonly Flag<TimeSpan> ConnectTimeout = Duration("--connect-timeout", "3s", "How long to wait for an upstream connection (then 504).");
    private static readonly Flag<TimeSpan> ResponseTimeout = Duration("--response-timeout", "0", "How long to wait for an upstream's response headers (then 504); 0 waits forever.");
    private static readonly Flag<TimeSpan> DrainTimeout = Duration("--drain-timeout", "30s", "On shutdown, how long in-flight requests may take before connections are closed.");
    private static readonly Flag<TimeSpan> IdleMemoryRelease = Duration("--idle-memory-release", "30s", "After this long without traffic, give back the memory traffic left behind (collected heap, free socket buffers, the C heap's free pages, code not run since); 0 never.");

    private static readonly Flag<string?> IdentityDirectory = Text("--identity-dir", "A directory holding this proxy's mesh identity from files: tls.crt (leaf and chain), tls.key, ca.crt (trust anchors).");
    private static readonly Flag<string?> OutboundDestinationIdentity = Text("--outbound-destination-identity", "The SPIFFE ID the --outbound-destination must prove: that hop becomes mTLS.");
    private static readonly Flag<string?> Controller = Text("--controller", "The control plane's address, HOST:PORT: destination lookups and workload certificates come from it.");
    private static readonly Flag<string?> ControllerName = Text("--controller-name", "The name (DNS or SPIFFE ID) the controller's certificate must carry [default: the host of --controller].");
    private static readonly Flag<string?> TrustAnchor = Text("--trust-anchor", "The mesh trust anchor, PEM: verifies the controller and, with --identity, every peer.");
    private static readonly Flag<string?> Identity = Text("--identity", "This workload's SPIFFE ID, e.g. spiffe://cluster.local/ns/demo/sa/web; certified by the controller.");
    private static readonly Flag<string?> IdentityTokenFile = Text("--identity-token-file", "The file holding the token that proves --identity to the controller.");
    private static readonly Flag<TimeSpan> ResolveTimeout = Duration("--resolve-timeout", "1s", "How long a first lookup may wait for the controller before traffic goes to its original destination.");

    private static readonly IFlag[] Flags =
    [
        OutboundListen, InboundListen, AdminListen, OutboundDestination, InboundDestination,
        OpaquePorts, DetectTimeout, ConnectTimeout, ResponseTimeout, DrainTimeout, IdleMemoryRelease,
        IdentityDirectory, OutboundDestinationIdentity, Controller, ControllerName, TrustAnchor, Identity, IdentityTokenFile, ResolveTimeout,
    ];

    /// <summary>Builds the root command; <paramref name="run"/> is called with the parsed options.</summary>
    public static RootCommand Create(Func<ProxyOptions, CancellationToken, Task<int>> run)
    {
        var command = new RootCommand("trellis-proxy: the Trellis data-plane proxy. Every flag can also be set as TRELLIS_PROXY_<FLAG> (e.g. TRELLIS_PROXY_ADMIN_LISTEN); log level with TRELLIS_LOG (error, warn, info, debug; default warn).");
        foreach (var flag in Flags)
        {
            command.Options.Add(flag.Option);
        }

        // A flag not given takes its environment variable or default here rather than through the
        // option's DefaultValueFactory: help prints a factory's value in the runtime's own format
        // (00:00:10, 25|587|...) beside the one each description already gives.
        command.Validators.Add(commandResult =>
        {
            foreach (var flag in Flags)
            {
                flag.ReportFallbackError(commandResult);
            }
        });
        command.SetAction((result, cancellationToken) => run(Bind(result), cancellationToken));
        return command;
    }

    private static ProxyOptions Bind(ParseResult result) => new()
    {
        OutboundListen = OutboundListen.Value(result)!,
        InboundListen = InboundListen.Value(result)!,
        AdminListen = AdminListen.Value(result)!,
        OutboundDestination = OutboundDestination.Value(result),
        InboundDestination = InboundDestination.Value(result),
        OpaquePorts = OpaquePorts.Value(result)!,
        DetectTimeout = DetectTimeout.Value(result),
        ConnectTimeout = ConnectTimeout.Value(result),
        ResponseTimeout = ResponseTimeout.Value(result) is var t && t == TimeSpan.Zero ? Timeout.InfiniteTimeSpan : t,
        DrainTimeout = DrainTimeout.Value(result),
        IdleMemoryRelease = IdleMemoryRelease.Value(result),
        IdentityDirectory = IdentityDirectory.Value(result),
        OutboundDestinationIdentity = OutboundDestinationIdentity.Value(result),
        Controller = Controller.Value(result),
        ControllerName = ControllerName.Value(result),
        TrustAnchor = TrustAnchor.Value(result),
        Identity = Identity.Value(result),
        IdentityTokenFile = IdentityTokenFile.Value(result),
        ResolveTimeout = ResolveTimeout.Value(result),
    };

    internal static string EnvironmentName(string flag) =>
        "TRELLIS_PROXY_" + flag.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    private static string ErrorFor(string flag, string error) => $"{flag} (or {EnvironmentName(flag)}): {error}";

    private interface IFlag
    {
        Option Option { get; }

        void ReportFallbackError(CommandResult commandResult);
    }

    /// <summary>A flag, and the value it takes when not given: its environment variable, else its default.</summary>
    private sealed class Flag<T> : IFlag
    {
        private readonly string _name;
        private readonly string? _defaultValue;
        private readonly Func<string, (T? Value, string? Error)> _parse;
        private readonly Option<T> _option;

        public Flag(string name, string? defaultValue, string description, Func<string, (T? Value, string? Error)> parse)
        {
            _name = name;
            _defaultValue = defaultValue;
            _parse = parse;
            _option = new Option<T>(name)
            {
                Description = $"{description} [env {EnvironmentName(name)}]" + (defaultValue is null ? string.Empty : $" [default: {defaultValue}]"),
                HelpName = typeof(T) == typeof(TimeSpan) ? "duration" : typeof(T) == typeof(FrozenSet<int>) ? "ports" : typeof(T) == typeof(string) ? "value" : "addr:port",
                CustomParser = ParseToken,
            };
        }

        public Option Option => _option;

        public T? Value(ParseResult result) => result.GetResult(_option) is null ? Fallback().Value : result.GetValue(_option);

        public void ReportFallbackError(CommandResult commandResult)
        {
            if (commandResult.GetResult(_option) is null && Fallback().Error is { } error)
            {
                commandResult.AddError(ErrorFor(_name, error));
            }
        }

        private (T? Value, string? Error) Fallback() =>
            Environment.GetEnvironmentVariable(EnvironmentName(_name)) is { Length: > 0 } fromEnvironment ? _parse(fromEnvironment)
            : _defaultValue is null ? (default, null)
            : _parse(_defaultValue);

        private T? ParseToken(ArgumentResult argument)
        {
            var (value, error) = _parse(argument.Tokens[0].Value);
            if (error is not null)
            {
                argument.AddError(ErrorFor(_name, error));
            }

            return value;
        }
    }

    private static Flag<IPEndPoint> Endpoint(string flag, string defaultValue, string description) =>
        new(flag, defaultValue, description, ParseEndpoint);

    private static Flag<IPEndPoint?> OptionalEndpoint(string flag, string description) =>
        new(flag, null, description, text => ParseEndpoint(text));

    private static Flag<string?> Text(string flag, string description) =>
        new(flag, null, description, text => text.Length == 0 ? (null, "must not be empty") : (text, null));

    private static Flag<TimeSpan> Duration(string flag, string defaultValue, string description) =>
        new(flag, defaultValue, description, ParseDuration);

    private static Flag<FrozenSet<int>> Ports(string flag, string defaultValue, string description) =>
        new(flag, defaultValue, description, ParsePorts);

    /// <summary>An address with an explicit port: <c>127.0.0.1:4140</c> or <c>[::1]:4140</c>.</summary>
    internal static (IPEndPoint? Value, string? Error) ParseEndpoint(string text)
    {
        var portGiven = text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(c => c == ':') == 1;
        return portGiven && IPEndPoint.TryParse(text, out var endpoint)
            ? (endpoint, null)
            : (null, $"'{text}' is not an IP address and port such as 127.0.0.1:4140 or [::1]:4140");
    }

    /// <summary>Durations such as <c>250ms</c>, <c>10s</c>, <c>2m</c>, or a bare number of seconds.</summary>
    internal static (TimeSpan Value, string? Error) ParseDuration(string text)
    {
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 && double.IsFinite(value)
            ? (TimeSpan.FromSeconds(value * unit), null)
            : (default, $"'{text}' is not a duration such as 250ms, 10s or 2m");
    }

    internal static (FrozenSet<int>? Value, string? Error) ParsePorts(string text)
    {
        var ports = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                return (null, $"'{part}' is not a port number (1-65535)");
            }

            ports.Add(port);
        }

        return (ports.ToFrozenSet(), null);
    }
}
