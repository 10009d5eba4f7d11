using Microsoft.AspNetCore.Connections;

namespace Trellis.Proxy.Http.Http1;

/// <summary>Closing an upstream connection that will not be reused.</summary>
internal static class Http1Upstream
{
    /// <summary>
    /// Completes both pipes (a FIN, or the end of the in-memory stream) and disposes the
    /// connection in the background: disposal waits for the transport to wind down, which the
    /// request path must not wait for.
    /// </summary>
    public static void Close(ConnectionContext connection) => Close(connection, null);

    /// <summary>
    /// Closes at once after a broken exchange: the transport's abort resets the socket (unsent
    /// bytes are worthless), then the pipes are completed with the error and the context disposed.
    /// </summary>
    public static void Abort(ConnectionContext connection)
    {
        var error = new ConnectionAbortedException("HTTP/1 exchange aborted");
        connection.Abort(error);
        Close(connection, error);
    }

    private static void Close(ConnectionContext connection, Exception? error)
    {
        connection.Transport.Input.Complete(error);
        connection.Transport.Output.Complete(error);
        _ = DisposeAsync(connection);
    }

    private static async Task DisposeAsync(ConnectionContext connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception)
        {
            // Nothing left to do with a connection that failed while closing.
        }
    }
}
