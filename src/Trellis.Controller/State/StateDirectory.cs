namespace Trellis.Controller.State;

/// <summary>
/// The controller's state directory (default <c>~/.trellis</c>): trust anchor, issuer, token and
/// admin keys, service VIPs, pid and log files. Secrets are written 0600 and replaced atomically
/// so a crash never leaves a half-written key behind.
/// </summary>
public sealed class StateDirectory
{
    private const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicMode = SecretMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates a view of <paramref name="root"/>; nothing is touched until <see cref="EnsureExists"/>.</summary>
    public StateDirectory(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The default, <c>~/.trellis</c>.</summary>
    public static string DefaultPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".trellis");

    /// <summary>Absolute path of the directory.</summary>
    public string Root { get; }

    /// <summary>Trust anchor certificate (PEM), shared with every proxy.</summary>
    public string TrustAnchorCertificate => Path.Combine(Root, "trust-anchor.crt");

    /// <summary>Trust anchor private key (PEM, 0600).</summary>
    public string TrustAnchorKey => Path.Combine(Root, "trust-anchor.key");

    /// <summary>Issuer certificate (PEM).</summary>
    public string IssuerCertificate => Path.Combine(Root, "issuer.crt");

    /// <summary>Issuer private key (PEM, 0600).</summary>
    public string IssuerKey => Path.Combine(Root, "issuer.key");

    /// <summary>HMAC key for workload tokens (0600).</summary>
    public string TokenKey => Path.Combine(Root, "token.key");

    /// <summary>Admin credential for registry writes and token issuance (0600).</summary>
    public string AdminCredential => Path.Combine(Root, "admin.credential");

    /// <summary>Service virtual IPs, one <c>namespace/name address</c> per line.</summary>
    public string ServiceAddresses => Path.Combine(Root, "services.txt");

    /// <summary>Where pod address allocation continues after a restart (one number: the next offset in the pod range).</summary>
    public string PodAddressCursor => Path.Combine(Root, "pod-cursor.txt");

    /// <summary>Controller pid file written by <c>trellis up</c>.</summary>
    public string ControllerPid => Path.Combine(Root, "controller.pid");

    /// <summary>Controller log file written by <c>trellis up</c>.</summary>
    public string ControllerLog => Path.Combine(Root, "controller.log");

    /// <summary>Controller settings chosen at <c>trellis up</c> (port, ranges).</summary>
    public string ControllerSettings => Path.Combine(Root, "controller.conf");

    /// <summary>Creates the directory (0700) when missing.</summary>
    public void EnsureExists()
    {
        if (Directory.Exists(Root))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Root);
        }
        else
        {
            Directory.CreateDirectory(Root, DirectoryMode);
        }
    }

    /// <summary>Writes a secret file with mode 0600, atomically.</summary>
    public static void WriteSecret(string path, ReadOnlySpan<byte> content) => WriteAtomic(path, content, SecretMode);

    /// <summary>Writes a non-secret file with mode 0644, atomically.</summary>
    public static void WritePublic(string path, ReadOnlySpan<byte> content) => WriteAtomic(path, content, PublicMode);

    private static void WriteAtomic(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        // UnixCreateMode is filtered by the umask; set the mode explicitly so 0600 is exact.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, mode);
        }

        File.Move(temp, path, overwrite: true);
    }
}
