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
    public static void Close(ConnectionContext connection)
    {
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
        _ = DisposeAsync(connection);
    }

    /// <summary>Closes abruptly: the exchange broke mid-way, so unsent bytes are worthless.</summary>
    public static void Abort(ConnectionContext connection)
    {
        connection.Abort(new ConnectionAbortedException("HTTP/1 exchange aborted"));
        Close(connection);
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
