using System.Globalization;
using Trellis.Proxy.Http.Http2.Hpack;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The header rules of RFC 9113 §8.2 and §8.3 the relay enforces: requests that break them are
/// reset (PROTOCOL_ERROR) before anything is forwarded; responses lose their connection-specific
/// fields. Header blocks pass through in order, otherwise unchanged.
/// </summary>
internal static class Http2Headers
{
    /// <summary>
    /// Validates a request header block: lowercase names, pseudo-header fields first and only
    /// the request ones, once each, :method, :scheme and :path present (only :method and
    /// :authority for CONNECT), no connection-specific fields, te only "trailers".
    /// </summary>
    public static bool TryReadRequest(List<HeaderField> headers, out Http2Request request)
    {
        request = default;
        string? method = null;
        string? scheme = null;
        string? path = null;
        string? authority = null;
        string? host = null;
        string? contentType = null;
        var regular = false;
        foreach (var (name, value) in headers)
        {
            if (!IsValidName(name) || !IsValidValue(value))
            {
                return false;
            }

            if (name[0] == ':')
            {
                if (regular)
                {
                    return false;
                }

                switch (name)
                {
                    case ":method" when method is null:
                        method = value;
                        break;
                    case ":scheme" when scheme is null:
                        scheme = value;
                        break;
                    case ":path" when path is null && value.Length > 0:
                        path = value;
                        break;
                    case ":authority" when authority is null:
                        authority = value;
                        break;
                    default:
                        return false;
                }

                continue;
            }

            regular = true;
            if (IsConnectionSpecific(name) || (name == "te" && value != "trailers"))
            {
                return false;
            }

            if (name == "host")
            {
                host ??= value;
            }
            else if (name == "content-type")
            {
                contentType ??= value;
            }
        }

        if (method is null)
        {
            return false;
        }

        if (method == "CONNECT" ? scheme is not null || path is not null || authority is null : scheme is null || path is null)
        {
            return false;
        }

        request = new Http2Request(method, authority ?? host, IsGrpc(contentType));
        return true;
    }

    /// <summary>
    /// Validates a response header block (:status first and alone among pseudo-header fields)
    /// and removes connection-specific fields in place. The status is 0 when invalid.
    /// </summary>
    public static int ReadResponse(List<HeaderField> headers)
    {
        var status = 0;
        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (name.Length > 0 && name[0] == ':')
            {
                if (i != 0 || name != ":status" || !TryParseStatus(value, out status))
                {
                    return 0;
                }
            }
            else if (IsConnectionSpecific(name))
            {
                headers.RemoveAt(i);
                i--;
            }
        }

        return status;
    }

    /// <summary>Trailers carry no pseudo-header fields; connection-specific ones are dropped.</summary>
    public static bool TryReadTrailers(List<HeaderField> headers)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            var name = headers[i].Name;
            if (name.Length == 0 || name[0] == ':')
            {
                return false;
            }

            if (IsConnectionSpecific(name))
            {
                headers.RemoveAt(i);
                i--;
            }
        }

        return true;
    }

    /// <summary>grpc-status as a number; -1 when absent or not a number.</summary>
    public static int GrpcStatus(List<HeaderField> headers)
    {
        foreach (var (name, value) in headers)
        {
            if (name == "grpc-status")
            {
                return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : -1;
            }
        }

        return -1;
    }

    /// <summary>application/grpc and application/grpc+proto etc.; gRPC-Web carries its status in the body.</summary>
    private static bool IsGrpc(string? contentType) =>
        contentType is not null &&
        contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) &&
        !contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase);

    /// <summary>RFC 9113 §8.2.2: fields that only mean something to one HTTP/1 connection.</summary>
    private static bool IsConnectionSpecific(string name) =>
        name is "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "upgrade";

    private static bool TryParseStatus(string value, out int status)
    {
        status = 0;
        if (value.Length != 3)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            status = (status * 10) + (c - '0');
        }

        return status >= 100;
    }

    /// <summary>RFC 9113 §8.2.1: a token in lowercase; a leading colon only for pseudo-header fields.</summary>
    private static bool IsValidName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        for (var i = name[0] == ':' ? 1 : 0; i < name.Length; i++)
        {
            var c = name[i];
            var token = c is (>= 'a' and <= 'z') or (>= '0' and <= '9')
                or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
            if (!token)
            {
                return false;
            }
        }

        return name.Length > 1 || name[0] != ':';
    }

    /// <summary>RFC 9113 §8.2.1: no NUL, CR or LF, and no whitespace at either end.</summary>
    private static bool IsValidValue(string value)
    {
        if (value.Length == 0)
        {
            return true;
        }

        if (value[0] is ' ' or '\t' || value[^1] is ' ' or '\t')
        {
            return false;
        }

        return value.AsSpan().IndexOfAny('\0', '\r', '\n') < 0;
    }
}
