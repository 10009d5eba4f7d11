using Trellis.Controller.Registry;

namespace Trellis.Controller.Identity;

/// <summary>Workload identities: <c>spiffe://&lt;trust-domain&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.</summary>
public static class SpiffeId
{
    /// <summary>Formats the identity of a namespace and service account.</summary>
    public static string Format(string trustDomain, string ns, string serviceAccount) =>
        $"spiffe://{trustDomain}/ns/{ns}/sa/{serviceAccount}";

    /// <summary>Parses an identity of <paramref name="trustDomain"/>; false for anything else.</summary>
    public static bool TryParse(string trustDomain, string? value, out string ns, out string serviceAccount)
    {
        ns = string.Empty;
        serviceAccount = string.Empty;
        var prefix = $"spiffe://{trustDomain}/ns/";
        if (value is null || !value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = value.AsSpan(prefix.Length);
        var slash = rest.IndexOf("/sa/", StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        var nsPart = rest[..slash].ToString();
        var saPart = rest[(slash + 4)..].ToString();
        if (!Names.IsDnsLabel(nsPart) || !Names.IsDnsLabel(saPart))
        {
            return false;
        }

        ns = nsPart;
        serviceAccount = saPart;
        return true;
    }
}
