using System.Security.Cryptography;
using System.Text;

namespace Trellis.Cli.Hosts;

/// <summary>Names of a pod's host objects, all derived from namespace and pod so `trellis down` can find leftovers by prefix.</summary>
internal static class PodNames
{
    /// <summary>
    /// Every pod namespace starts with this, and `trellis down` removes whatever does: so it must
    /// be ours alone (the proxy's integration tests, for one, name theirs trellis-it-*).
    /// </summary>
    public const string NetnsPrefix = "trellis-pod-";
    public const string VethPrefix = "tv";
    public const string RuntimeRoot = "/run/trellis/pods";

    public static string Netns(string ns, string pod) => $"{NetnsPrefix}{ns}-{pod}";

    /// <summary>Host-side veth name: interface names are limited to 15 characters, so a hash of the netns name.</summary>
    public static string HostVeth(string netns) => VethPrefix + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(netns)))[..10].ToLowerInvariant();

    public static string PeerVeth(string netns) => "tp" + HostVeth(netns)[2..];

    public static string RuntimeDirectory(string netns) => Path.Combine(RuntimeRoot, netns);

    public static string EtcDirectory(string netns) => Path.Combine("/etc/netns", netns);

    public static string NewPodName(string workload)
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var suffix = new char[5];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        var prefix = workload.Length > 50 ? workload[..50].TrimEnd('-') : workload;
        return $"{prefix}-{new string(suffix)}";
    }
}
