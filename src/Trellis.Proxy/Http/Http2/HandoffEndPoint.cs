using System.Net;

namespace Trellis.Proxy.Http.Http2;

/// <summary>
/// The address Kestrel "listens" on for the HTTP/2 pipeline: not a socket, only a name for the
/// hand-off queue, so Kestrel's logs and errors say where connections came from.
/// </summary>
internal sealed class HandoffEndPoint : EndPoint
{
    public static readonly HandoffEndPoint Instance = new();

    public override string ToString() => "trellis-http2-handoff";
}
