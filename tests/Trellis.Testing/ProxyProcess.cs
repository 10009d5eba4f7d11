using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Trellis.Testing;

/// <summary>
/// Runs the published proxy on loopback with ephemeral ports, waits until it says where it
/// listens, and kills it on dispose. Its stderr is kept for assertions and failure messages.
/// </summary>
public sealed partial class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<Match> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProxyProcess(Process process)
    {
        _process = process;
    }

    public IPEndPoint Outbound { get; private set; } = null!;

    public IPEndPoint Inbound { get; private set; } = null!;

    public IPEndPoint Admin { get; private set; } = null!;

    public Uri AdminUri => new($"http://{Admin}/");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the proxy with loopback listeners on free ports plus <paramref name="arguments"/>.</summary>
    public static async Task<ProxyProcess> StartAsync(IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(RepositoryPaths.ProxyBinary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--outbound-listen", "127.0.0.1:0", "--inbound-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0" }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["TRELLIS_LOG"] = "info";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var proxy = new ProxyProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        proxy._process.ErrorDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy._process.OutputDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy._process.Exited += (_, _) => proxy._started.TrySetException(new InvalidOperationException("trellis-proxy exited during start-up:\n" + proxy.Log));
        proxy._process.Start();
        proxy._process.BeginErrorReadLine();
        proxy._process.BeginOutputReadLine();

        var started = await proxy._started.Task.WaitAsync(TimeSpan.FromSeconds(20));
        proxy.Outbound = IPEndPoint.Parse(started.Groups["outbound"].Value);
        proxy.Inbound = IPEndPoint.Parse(started.Groups["inbound"].Value);
        proxy.Admin = IPEndPoint.Parse(started.Groups["admin"].Value);
        return proxy;
    }

    /// <summary>
    /// Waits until the log contains <paramref name="text"/>: the proxy logs from a background
    /// queue, so a line may land just after the effect a test observed.
    /// </summary>
    public async Task<bool> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (deadline.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }

        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        var match = StartedLine().Match(line);
        if (match.Success)
        {
            _started.TrySetResult(match);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"proxy started: outbound (?<outbound>\S+), inbound (?<inbound>\S+), admin (?<admin>\S+)")]
    private static partial Regex StartedLine();
}
