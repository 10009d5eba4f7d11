namespace Trellis.Proxy.Detection;

/// <summary>Character classes of RFC 9110 used while sniffing.</summary>
internal static class HttpChars
{
    /// <summary><c>tchar</c>: the characters of a token such as a method name.</summary>
    public static bool IsTokenChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*'
            or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
