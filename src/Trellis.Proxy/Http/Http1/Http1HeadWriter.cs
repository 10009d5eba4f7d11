using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Writes a parsed head onward with its bytes as received (header case and order kept,
/// which other meshes lose), minus the hop-by-hop fields that describe only the connection it
/// arrived on. Runs of kept lines go out as one copy.
/// </summary>
internal static class Http1HeadWriter
{
    public static ReadOnlySpan<byte> ConnectionClose => "Connection: close\r\n"u8;

    public static ReadOnlySpan<byte> ConnectionKeepAlive => "Connection: keep-alive\r\n"u8;

    public static ReadOnlySpan<byte> ConnectionUpgrade => "Connection: upgrade\r\n"u8;

    /// <summary>The HTTP-version the proxy answers with: the highest it conforms to.</summary>
    private static ReadOnlySpan<byte> ProxyVersion => "HTTP/1.1"u8;

    /// <param name="keepUpgrade">Pass the Upgrade field on (a protocol switch is under way).</param>
    /// <param name="connection">A Connection field of the proxy's own for the next hop, or empty.</param>
    /// <param name="ownVersion">
    /// For a response: send the proxy's own HTTP-version in the status line, as RFC 9110 section
    /// 6.2 asks of intermediaries. Passed on as received, an HTTP/1.0 server's version would tell
    /// an HTTP/1.1 client (and the proxy at the other end of a mesh hop) that the connection
    /// closes after every response, although the proxy keeps it open.
    /// </param>
    public static void Write(PipeWriter writer, ReadOnlySpan<byte> bytes, Http1Head head, bool keepUpgrade, ReadOnlySpan<byte> connection,
        bool ownVersion = false)
    {
        var runStart = 0;
        if (ownVersion && head.VersionMinor == 0)
        {
            // A status line starts with its 8-byte version (the parser checked it).
            writer.Write(ProxyVersion);
            runStart = ProxyVersion.Length;
        }

        var headers = head.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            if (IsHopByHop(bytes, head, headers[i], keepUpgrade))
            {
                var runEnd = headers[i].LineStart;
                if (runEnd > runStart)
                {
                    writer.Write(bytes[runStart..runEnd]);
                }

                runStart = headers[i].LineEnd;
            }
        }

        // Everything up to the final CRLF; the head's last two bytes end it.
        var end = bytes.Length - 2;
        if (end > runStart)
        {
            writer.Write(bytes[runStart..end]);
        }

        if (!connection.IsEmpty)
        {
            writer.Write(connection);
        }

        writer.Write("\r\n"u8);
    }

    private static bool IsHopByHop(ReadOnlySpan<byte> bytes, Http1Head head, in Http1HeaderEntry entry, bool keepUpgrade)
    {
        switch (entry.Kind)
        {
            case Http1HeaderKind.Connection or Http1HeaderKind.KeepAlive or Http1HeaderKind.ProxyConnection or Http1HeaderKind.Te:
                return true;
            case Http1HeaderKind.Upgrade:
                return !keepUpgrade;
            case Http1HeaderKind.Other:
                return head.ConnectionNamesOthers && NamedByConnection(bytes, head, bytes.Slice(entry.LineStart, entry.NameLength));
            default:
                // Host and the framing fields are never dropped, even when Connection names
                // them: removing Content-Length or Transfer-Encoding would change the framing.
                return false;
        }
    }

    private static bool NamedByConnection(ReadOnlySpan<byte> bytes, Http1Head head, ReadOnlySpan<byte> name)
    {
        foreach (ref readonly var entry in head.Headers)
        {
            if (entry.Kind != Http1HeaderKind.Connection)
            {
                continue;
            }

            var value = bytes.Slice(entry.ValueStart, entry.ValueLength);
            foreach (var range in value.Split((byte)','))
            {
                if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), name))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
