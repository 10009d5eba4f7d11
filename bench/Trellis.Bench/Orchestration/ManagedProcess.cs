using System.Diagnostics;
using System.Text;

namespace Trellis.Bench.Orchestration;

/// <summary>
/// A child process the harness owns: started with its output captured (the last lines are kept for
/// failure reports), and killed by pid when its setup ends. Every run is time-bounded by its caller.
/// </summary>
internal sealed class ManagedProcess : IDisposable
{
    private const int TailLines = 20;
    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private ManagedProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ManagedProcess Start(string name, string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                info.Environment[k] = v;
            }
        }
        var process = new Process { StartInfo = info };
        var managed = new ManagedProcess(name, process);
        process.OutputDataReceived += (_, e) => managed.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => managed.Keep(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new SetupFailedException($"cannot start {file}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>The last lines the process printed, for a failure report.</summary>
    public string Tail()
    {
        lock (_tail)
        {
            return string.Join(" | ", _tail);
        }
    }

    public string ExitDescription() => _process.HasExited ? $"{Name} exited with code {_process.ExitCode}: {Tail()}" : $"{Name} is running: {Tail()}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    /// <summary>Runs a command to completion within <paramref name="timeout"/> and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var managed = Start(Path.GetFileName(file), file, args);
        var output = new StringBuilder();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await managed._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SetupFailedException($"{file} did not finish within {timeout.TotalSeconds:0} s");
        }
        managed._process.WaitForExit();
        lock (managed._all)
        {
            output.Append(managed._all);
        }
        return (managed._process.ExitCode, output.ToString());
    }

    private readonly StringBuilder _all = new();

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
        lock (_all)
        {
            if (_all.Length < 1 << 20)
            {
                _all.AppendLine(line);
            }
        }
    }
}
