using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Trellis.Proxy.Http.Http1;

namespace Trellis.Proxy.Admin;

/// <summary>
/// One admin client connection: reads request heads with the forwarder's scanner and parser
/// (same limits, same rejections), answers each from <see cref="AdminApplication"/>, and loops
/// while the connection is kept alive. Each request must arrive, and its response be taken,
/// within the idle timeout, so a silent or non-reading client cannot hold a connection.
/// Request bodies are read and dropped: no admin route takes one.
/// </summary>
internal sealed partial class AdminConnection
{
    /// <summary>Largest request body read (and dropped); larger gets 413 and a close.</summary>
    internal const long MaxRequestBodyBytes = 64 * 1024;

    private static readonly Http1Options Limits = new();

    private readonly ConnectionContext _connection;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly AdminApplication _application;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly CancellationToken _stopping;
    private readonly ILogger _logger;
    private readonly Http1Head _head = new(Limits.MaxHeaderCount);
    private Http1HeadScanner _scanner;

    /// <param name="stopping">Signalled when the server stops: an idle connection closes, a busy one after its response.</param>
    public AdminConnection(
        ConnectionContext connection, AdminApplication application, TimeProvider time, TimeSpan idleTimeout, ILogger logger, CancellationToken stopping)
    {
        _connection = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
        _application = application;
        _time = time;
        _idleTimeout = idleTimeout;
        _stopping = stopping;
        _logger = logger;
    }

    /// <summary>Serves requests until the connection ends, then closes it; never throws.</summary>
    public async Task RunAsync()
    {
        var clean = false;
        var stop = _stopping.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), _input);
        try
        {
            while (await ServeRequestAsync())
            {
            }

            clean = true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The idle deadline passed, or the client reset the connection.
        }
        catch (Exception e)
        {
            // A bug must cost one connection, never the proxy.
            LogConnectionFailed(_logger, e);
        }
        finally
        {
            stop.Dispose();
        }

        await CloseAsync(clean);
    }

    /// <summary>Closes at once with a reset: for a server that stops while a client holds a response.</summary>
    public void Abort() => _connection.Abort();

    /// <summary>Answers one request; false when the connection must end.</summary>
    private async Task<bool> ServeRequestAsync()
    {
        using var deadline = new CancellationTokenSource(_idleTimeout, _time);
        _scanner.Reset();
        ReadOnlySequence<byte> buffer;
        int headLength;
        while (true)
        {
            var result = await _input.ReadAsync(deadline.Token);
            buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start);
                return false;
            }

            var leading = Http1HeadScanner.LeadingEmptyLines(buffer);
            if (leading > 0)
            {
                _input.AdvanceTo(buffer.GetPosition(leading));
                _scanner.Reset();
                continue;
            }

            var error = _scanner.Scan(buffer, Limits.MaxRequestHeadBytes, Limits.MaxRequestLineBytes, Limits.MaxHeaderCount, out headLength);
            if (error != Http1ParseError.None)
            {
                _input.AdvanceTo(buffer.End);
                return await RejectAsync(error, deadline.Token);
            }

            if (headLength > 0)
            {
                break;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                // Closed between requests, or mid-head: nothing to answer.
                return false;
            }
        }

        var parsed = Parse(buffer.Slice(0, headLength), out var method, out var path, out var expectsContinue);
        _input.AdvanceTo(buffer.GetPosition(headLength));
        if (parsed != Http1ParseError.None)
        {
            return await RejectAsync(parsed, deadline.Token);
        }

        if (_head.Framing == Http1BodyFraming.Chunked)
        {
            return await RefuseAsync(411, "send the request body with Content-Length\n", deadline.Token);
        }

        if (_head.ContentLength > MaxRequestBodyBytes)
        {
            return await RefuseAsync(413, "request body too large\n", deadline.Token);
        }

        if (_head.Framing == Http1BodyFraming.ContentLength && !await DiscardBodyAsync(expectsContinue, deadline.Token))
        {
            return false;
        }

        // With inline socket completions this runs on the socket engine's thread; rendering
        // /metrics there would hold up every proxied connection's I/O for as long as it takes.
        await Task.Yield();
        var (status, contentType, body) = _application.Handle(method, path, ClientAddress());
        var keepAlive = _head.KeepAlive && !_stopping.IsCancellationRequested;
        var connection = !keepAlive ? Http1HeadWriter.ConnectionClose
            : _head.VersionMinor == 0 ? Http1HeadWriter.ConnectionKeepAlive
            : default;
        AdminResponseWriter.Write(_output, status, contentType, body, connection, !_head.IsHeadMethod, _time.GetUtcNow());
        var flush = await _output.FlushAsync(deadline.Token);
        return keepAlive && !flush.IsCompleted;
    }

    private Http1ParseError Parse(in ReadOnlySequence<byte> head, out string method, out string path, out bool expectsContinue)
    {
        method = path = string.Empty;
        expectsContinue = false;
        var bytes = head.IsSingleSegment ? head.FirstSpan : head.ToArray();
        var error = Http1Parser.ParseRequest(bytes, _head);
        if (error != Http1ParseError.None)
        {
            return error;
        }

        // The parser has checked the request line: method SP target SP version.
        var line = bytes[..(_head.StartLineEnd - 2)];
        var methodEnd = line.IndexOf((byte)' ');
        var target = line[(methodEnd + 1)..];
        method = Encoding.ASCII.GetString(line[..methodEnd]);
        path = AdminRequestTarget.Path(target[..target.IndexOf((byte)' ')]);
        foreach (ref readonly var entry in _head.Headers)
        {
            if (entry.Kind == Http1HeaderKind.Expect && Ascii.EqualsIgnoreCase(bytes.Slice(entry.ValueStart, entry.ValueLength), "100-continue"u8))
            {
                expectsContinue = _head.VersionMinor == 1;
            }
        }

        return Http1ParseError.None;
    }

    /// <summary>Reads the request body and drops it; false when the client stopped before its end.</summary>
    private async Task<bool> DiscardBodyAsync(bool expectsContinue, CancellationToken cancellationToken)
    {
        if (expectsContinue)
        {
            _output.Write(AdminResponseWriter.Continue);
            await _output.FlushAsync(cancellationToken);
        }

        var remaining = _head.ContentLength;
        while (remaining > 0)
        {
            var result = await _input.ReadAsync(cancellationToken);
            var taken = Math.Min(remaining, result.Buffer.Length);
            _input.AdvanceTo(result.Buffer.GetPosition(taken));
            remaining -= taken;
            if (remaining > 0 && (result.IsCompleted || result.IsCanceled))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Answers a head the parser refused (400, 414, 431, ...) and ends the connection.</summary>
    private async Task<bool> RejectAsync(Http1ParseError error, CancellationToken cancellationToken)
    {
        LogRequestRejected(_logger, error);
        Http1ErrorResponses.WriteRejection(_output, error);
        await _output.FlushAsync(cancellationToken);
        return false;
    }

    /// <summary>Answers a request whose body is not read, and ends the connection: the body's bytes would be taken for the next request.</summary>
    private async Task<bool> RefuseAsync(int status, string body, CancellationToken cancellationToken)
    {
        AdminResponseWriter.Write(_output, status, AdminApplication.TextPlain, body, Http1HeadWriter.ConnectionClose, !_head.IsHeadMethod, _time.GetUtcNow());
        await _output.FlushAsync(cancellationToken);
        return false;
    }

    private IPAddress? ClientAddress()
    {
        var address = (_connection.RemoteEndPoint as IPEndPoint)?.Address;
        return address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
    }

    /// <summary>
    /// A clean end sends what was written, then a FIN; otherwise, or when the client does not
    /// take the rest of a response within the idle timeout, the connection is reset.
    /// </summary>
    private async Task CloseAsync(bool clean)
    {
        if (!clean)
        {
            _connection.Abort();
        }

        var closing = _connection.DisposeAsync().AsTask();
        try
        {
            await closing.WaitAsync(_idleTimeout, _time);
        }
        catch (TimeoutException)
        {
            _connection.Abort();
            await closing;
        }
    }

    [LoggerMessage(40, LogLevel.Debug, "admin request rejected: {Error}")]
    private static partial void LogRequestRejected(ILogger logger, Http1ParseError error);

    [LoggerMessage(41, LogLevel.Warning, "admin connection failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception);
}
