using System.Diagnostics;

namespace Trellis.Testing;

/// <summary>
/// Runs a program nobody here wrote (curl, h2load, openssl) to completion. Unlike
/// <see cref="NetworkNamespace.RunAsync"/> a non-zero exit is a result, not an exception, since
/// tests check curl's exit codes; a program still running at the timeout is killed.
/// </summary>
public static class ExternalCommand
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CommandResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"`{program} {string.Join(' ', info.ArgumentList)}` ran longer than {timeout ?? DefaultTimeout}:\n{await stderr}");
        }

        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Runs curl quietly (errors still shown) with a transfer bound, so a proxy that hangs fails
    /// the test instead of stalling it.
    /// </summary>
    public static Task<CommandResult> CurlAsync(params string[] arguments) =>
        RunAsync("curl", ["--silent", "--show-error", "--max-time", "30", .. arguments]);
}
