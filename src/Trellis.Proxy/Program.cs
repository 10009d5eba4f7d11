using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Trellis.Proxy.Configuration;
using Trellis.Proxy.Hosting;
using Trellis.Proxy.Identity;

// Socket completions run their continuations on the socket engine's thread instead of hopping to
// the thread pool: with the transport's inline pipe schedulers a forwarded request then crosses the
// proxy in one call chain. The runtime reads this variable once, when the first socket starts its
// engine, so it is set here before any socket exists; a value the user set wins. (Shipped in the
// binary rather than left to users: DESIGN.md's forwarder figures were taken with it.)
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

var level = ProxyLogging.ParseLevel(Environment.GetEnvironmentVariable(ProxyLogging.LevelVariable));
if (level is null)
{
    await Console.Error.WriteLineAsync($"trellis-proxy: {ProxyLogging.LevelVariable} must be one of error, warn, info, debug, trace, off");
    return 2;
}

var json = string.Equals(Environment.GetEnvironmentVariable(ProxyLogging.FormatVariable), "json", StringComparison.OrdinalIgnoreCase);

var command = ProxyCommandLine.Create(async (options, cancellationToken) =>
{
    if (options.Validate() is { } invalid)
    {
        await Console.Error.WriteLineAsync($"trellis-proxy: {invalid}");
        return 2;
    }

    using var loggerFactory = ProxyLogging.Create(level.Value, json);
    ProxyHost host;
    try
    {
        host = new ProxyHost(options, loggerFactory, TimeProvider.System);
        await host.StartAsync(cancellationToken);
    }
    catch (Exception e) when (e is SocketException)
    {
        await Console.Error.WriteLineAsync($"trellis-proxy: cannot listen: {e.Message}");
        return 1;
    }
    catch (Exception e) when (e is IdentityLoadException or IOException or System.Security.Cryptography.CryptographicException)
    {
        await Console.Error.WriteLineAsync($"trellis-proxy: cannot load the mesh identity or trust anchor: {e.Message}");
        return 1;
    }

    await using var running = host;

    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Shutdown);
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Shutdown);
    await host.ShutdownRequested;
    await host.StopAsync();
    return 0;

    void Shutdown(PosixSignalContext context)
    {
        context.Cancel = true;
        host.RequestShutdown();
    }
});

// Signals are the host's to handle (drain, then exit 0), not the parser's: no termination timeout.
return await command.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
