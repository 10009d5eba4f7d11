using System.CommandLine;
using System.Net;
using Trellis.Proxy.Configuration;

namespace Trellis.Proxy.Tests.Configuration;

// The environment is process-wide: these tests set TRELLIS_PROXY_DRAIN_TIMEOUT, which nothing else
// in this assembly reads, and run one at a time.
[Collection(nameof(ProxyCommandLineTests))]
[CollectionDefinition(nameof(ProxyCommandLineTests), DisableParallelization = true)]
public class ProxyCommandLineTests
{
    private const string DrainVariable = "TRELLIS_PROXY_DRAIN_TIMEOUT";

    [Fact]
    public void NoFlags_TakesTheDocumentedDefaults()
    {
        var (exitCode, options, _) = Invoke([]);

        Assert.Equal(0, exitCode);
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:4140"), options!.OutboundListen);
        Assert.Equal(IPEndPoint.Parse("0.0.0.0:4191"), options.AdminListen);
        Assert.Equal(TimeSpan.FromSeconds(10), options.DetectTimeout);
        Assert.Equal(Timeout.InfiniteTimeSpan, options.ResponseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.DrainTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.IdleMemoryRelease);
        Assert.True(options.OpaquePorts.SetEquals([25, 587, 3306, 4444, 5432, 6379, 9300, 11211]));
        Assert.Null(options.OutboundDestination);
        Assert.Null(options.Controller);
    }

    [Fact]
    public void EnvironmentVariable_SetsAFlagNotGiven()
    {
        var (exitCode, options, _) = InvokeWithDrainVariable("45s", []);

        Assert.Equal(0, exitCode);
        Assert.Equal(TimeSpan.FromSeconds(45), options!.DrainTimeout);
    }

    [Fact]
    public void Flag_WinsOverItsEnvironmentVariable()
    {
        var (exitCode, options, _) = InvokeWithDrainVariable("45s", ["--drain-timeout", "5s"]);

        Assert.Equal(0, exitCode);
        Assert.Equal(TimeSpan.FromSeconds(5), options!.DrainTimeout);
    }

    [Fact]
    public void BadEnvironmentVariable_ForAFlagGiven_IsNotRead()
    {
        var (exitCode, options, _) = InvokeWithDrainVariable("soon", ["--drain-timeout", "5s"]);

        Assert.Equal(0, exitCode);
        Assert.Equal(TimeSpan.FromSeconds(5), options!.DrainTimeout);
    }

    [Fact]
    public void BadEnvironmentVariable_ForAFlagNotGiven_FailsNamingIt()
    {
        var (exitCode, options, output) = InvokeWithDrainVariable("soon", []);

        Assert.NotEqual(0, exitCode);
        Assert.Null(options);
        Assert.Contains("--drain-timeout (or TRELLIS_PROXY_DRAIN_TIMEOUT): 'soon' is not a duration", output, StringComparison.Ordinal);
    }

    [Fact]
    public void IdleMemoryRelease_Zero_TurnsItOff()
    {
        var (exitCode, options, _) = Invoke(["--idle-memory-release", "0"]);

        Assert.Equal(0, exitCode);
        Assert.Equal(TimeSpan.Zero, options!.IdleMemoryRelease);
    }

    [Fact]
    public void IdleMemoryRelease_NotADuration_FailsNamingIt()
    {
        var (exitCode, options, output) = Invoke(["--idle-memory-release", "later"]);

        Assert.NotEqual(0, exitCode);
        Assert.Null(options);
        Assert.Contains("--idle-memory-release (or TRELLIS_PROXY_IDLE_MEMORY_RELEASE): 'later' is not a duration", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_PrintsEachDefaultOnceAsWritten()
    {
        var (exitCode, options, output) = Invoke(["--help"]);

        Assert.Equal(0, exitCode);
        Assert.Null(options);
        Assert.Single(Occurrences(output, "[default: 10s]"));
        Assert.Single(Occurrences(output, "[default: " + ProxyCommandLine.DefaultOpaquePorts + "]"));
        Assert.DoesNotContain("00:00:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("25|587", output, StringComparison.Ordinal);
    }

    private static (int ExitCode, ProxyOptions? Options, string Output) InvokeWithDrainVariable(string value, string[] args)
    {
        Environment.SetEnvironmentVariable(DrainVariable, value);
        try
        {
            return Invoke(args);
        }
        finally
        {
            Environment.SetEnvironmentVariable(DrainVariable, null);
        }
    }

    private static (int ExitCode, ProxyOptions? Options, string Output) Invoke(string[] args)
    {
        ProxyOptions? bound = null;
        var command = ProxyCommandLine.Create((options, _) =>
        {
            bound = options;
            return Task.FromResult(0);
        });
        using var output = new StringWriter();
        var exitCode = command.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, bound, output.ToString());
    }

    private static IEnumerable<int> Occurrences(string text, string value)
    {
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            yield return at;
        }
    }
}
