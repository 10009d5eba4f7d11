namespace Trellis.Proxy.Identity;

/// <summary>Identity material could not be loaded; the message names the file and the reason.</summary>
public sealed class IdentityLoadException : Exception
{
    public IdentityLoadException(string file, string reason, Exception? inner = null)
        : base($"{file}: {reason}", inner)
    {
        File = file;
    }

    /// <summary>The path of the file at fault.</summary>
    public string File { get; }
}
