namespace Trellis.Proxy.Http.Http1;

/// <summary>Why a message head or body was rejected; requests map to a 4xx, responses to a 502.</summary>
internal enum Http1ParseError
{
    None,
    InvalidRequestLine,
    RequestLineTooLong,
    HeadTooLarge,
    TooManyHeaders,
    BareLineFeed,
    ObsoleteLineFolding,
    InvalidHeaderName,
    InvalidHeaderValue,
    MissingHost,
    MultipleHosts,
    InvalidContentLength,
    ConflictingContentLength,
    ContentLengthAndTransferEncoding,
    UnsupportedTransferEncoding,
    TransferEncodingInHttp10,
    UnsupportedVersion,
    UnsupportedMethod,
    InvalidStatusLine,
    InvalidChunk,
    TrailersTooLarge,
}

internal static class Http1ParseErrorExtensions
{
    /// <summary>The status code a client gets for a rejected request.</summary>
    public static int StatusCode(this Http1ParseError error) => error switch
    {
        Http1ParseError.RequestLineTooLong => 414,
        Http1ParseError.HeadTooLarge or Http1ParseError.TooManyHeaders or Http1ParseError.TrailersTooLarge => 431,
        Http1ParseError.UnsupportedVersion => 505,
        Http1ParseError.UnsupportedMethod => 405,
        _ => 400,
    };
}
