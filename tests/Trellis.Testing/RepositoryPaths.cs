namespace Trellis.Testing;

/// <summary>Finds the repository and the artifacts the test command builds before running tests.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The NativeAOT proxy published by the test command (<c>./test.sh</c>), or the file named
    /// by <c>TRELLIS_PROXY_BINARY</c>. Integration tests run the real binary, never the JIT build.
    /// </summary>
    public static string ProxyBinary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("TRELLIS_PROXY_BINARY") is { Length: > 0 } fromEnvironment
                ? fromEnvironment
                : Path.Combine(Root, "artifacts", "bin", "trellis-proxy");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"The published proxy is missing at {path}. Run ./test.sh (it publishes it first) or " +
                    "`dotnet publish src/Trellis.Proxy -c Release -o artifacts/bin`, or set TRELLIS_PROXY_BINARY.", path);
            }

            return path;
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Trellis.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Trellis.slnx above {AppContext.BaseDirectory}.");
    }
}
