using System.Text;

namespace Trellis.Proxy.Admin;

/// <summary>The path an admin request names, from its request target (RFC 9112 section 3.2).</summary>
internal static class AdminRequestTarget
{
    /// <summary>
    /// The path of an origin-form (<c>/metrics?x=1</c>) or absolute-form
    /// (<c>http://host/metrics</c>) target, without its query; any other form is returned whole,
    /// so it matches no route.
    /// </summary>
    public static string Path(ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty || target[0] != (byte)'/')
        {
            var scheme = target.IndexOf("://"u8);
            if (scheme <= 0)
            {
                return Encoding.ASCII.GetString(target);
            }

            var authority = target[(scheme + 3)..];
            var slash = authority.IndexOfAny((byte)'/', (byte)'?');
            target = slash >= 0 && authority[slash] == (byte)'/' ? authority[slash..] : "/"u8;
        }

        var query = target.IndexOf((byte)'?');
        return Encoding.ASCII.GetString(query >= 0 ? target[..query] : target);
    }
}
