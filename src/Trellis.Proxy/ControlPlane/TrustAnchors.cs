using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.ControlPlane;

/// <summary>Loads the mesh trust anchor file (<c>--trust-anchor</c>).</summary>
public static class TrustAnchors
{
    /// <summary>Reads every certificate of a PEM file; a missing or empty file is a clear error.</summary>
    public static X509Certificate2Collection Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Trust anchor file '{path}' does not exist.", path);

        var anchors = new X509Certificate2Collection();
        anchors.ImportFromPemFile(path);
        if (anchors.Count == 0)
            throw new InvalidDataException($"Trust anchor file '{path}' holds no PEM certificate.");
        return anchors;
    }
}
