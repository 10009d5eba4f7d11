using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.Identity;

/// <summary>Turns a failed chain's status into one short line for errors and logs.</summary>
internal static class ChainErrors
{
    public static string Describe(X509Chain chain)
    {
        var flags = X509ChainStatusFlags.NoError;
        foreach (var status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        return flags == X509ChainStatusFlags.NoError ? "chain not trusted" : flags.ToString();
    }
}
