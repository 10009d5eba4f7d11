using System.Buffers;

namespace Trellis.Proxy.Http.Http1;

/// <summary>
/// Follows chunked framing (RFC 9112 section 7.1) through bytes as they arrive, so the body
/// can be forwarded exactly as received, extensions and trailers included, while the proxy
/// still knows where it ends. Sizes are bounded: at most 15 hex digits (no overflow), chunk
/// lines and the trailer section no longer than the configured limits.
/// </summary>
internal sealed class Http1ChunkedScanner
{
    private State _state;
    private long _size;
    private int _digits;
    private int _lineBytes;
    private int _trailerBytes;

    private enum State
    {
        Size,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerLine,
        TrailerLf,
        FinalLf,
        Done,
    }

    public bool IsDone => _state == State.Done;

    public void Reset()
    {
        _state = State.Size;
        _size = 0;
        _digits = 0;
        _lineBytes = 0;
        _trailerBytes = 0;
    }

    /// <summary>Advances over <paramref name="buffer"/>; stops right after the message's last byte.</summary>
    /// <param name="consumed">How many bytes belong to this body.</param>
    public Http1ParseError Scan(in ReadOnlySequence<byte> buffer, int maxLine, int maxTrailers, out long consumed)
    {
        consumed = 0;
        foreach (var memory in buffer)
        {
            var span = memory.Span;
            var i = 0;
            while (i < span.Length)
            {
                if (_state == State.Done)
                {
                    consumed += i;
                    return Http1ParseError.None;
                }

                if (_state == State.Data)
                {
                    var take = (int)Math.Min(_size, span.Length - i);
                    i += take;
                    _size -= take;
                    if (_size == 0)
                    {
                        _state = State.DataCr;
                    }

                    continue;
                }

                if (!Step(span[i], maxLine, maxTrailers, out var error))
                {
                    consumed += i;
                    return error;
                }

                i++;
            }

            consumed += span.Length;
        }

        return Http1ParseError.None;
    }

    private bool Step(byte b, int maxLine, int maxTrailers, out Http1ParseError error)
    {
        error = Http1ParseError.InvalidChunk;
        switch (_state)
        {
            case State.Size:
                if (++_lineBytes > maxLine)
                {
                    return false;
                }

                var digit = HexValue(b);
                if (digit >= 0)
                {
                    if (++_digits > 15)
                    {
                        return false;
                    }

                    _size = (_size << 4) | (uint)digit;
                    return true;
                }

                if (_digits == 0)
                {
                    return false;
                }

                if (b == (byte)'\r')
                {
                    _state = State.SizeLf;
                    return true;
                }

                _state = State.Extension;
                return b is (byte)';' or (byte)' ' or (byte)'\t';
            case State.Extension:
                if (++_lineBytes > maxLine)
                {
                    return false;
                }

                if (b == (byte)'\r')
                {
                    _state = State.SizeLf;
                    return true;
                }

                return b == (byte)'\t' || (b >= 0x20 && b != 0x7F);
            case State.SizeLf:
                if (b != (byte)'\n')
                {
                    return false;
                }

                _lineBytes = 0;
                _digits = 0;
                _state = _size == 0 ? State.TrailerLineStart : State.Data;
                return true;
            case State.DataCr:
                _state = State.DataLf;
                return b == (byte)'\r';
            case State.DataLf:
                _state = State.Size;
                return b == (byte)'\n';
            case State.TrailerLineStart:
            case State.TrailerLine:
                if (b == (byte)'\r')
                {
                    _state = _state == State.TrailerLineStart ? State.FinalLf : State.TrailerLf;
                    return true;
                }

                if (++_trailerBytes > maxTrailers)
                {
                    error = Http1ParseError.TrailersTooLarge;
                    return false;
                }

                // A trailer line starting with whitespace would be obs-fold.
                var folded = _state == State.TrailerLineStart && b is (byte)' ' or (byte)'\t';
                _state = State.TrailerLine;
                return !folded && (b == (byte)'\t' || (b >= 0x20 && b != 0x7F));
            case State.TrailerLf:
                _state = State.TrailerLineStart;
                return b == (byte)'\n';
            case State.FinalLf:
                _state = State.Done;
                return b == (byte)'\n';
            default:
                return false;
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
