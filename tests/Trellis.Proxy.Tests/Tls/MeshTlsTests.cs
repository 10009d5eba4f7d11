using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
using Trellis.Proxy.Identity;
using Trellis.Proxy.Metrics;
using Trellis.Proxy.Tcp;
using Trellis.Proxy.Tests.Identity;
using Trellis.Proxy.Tls;
using Trellis.Proxy.Transport;

namespace Trellis.Proxy.Tests.Tls;

/// <summary>A client <see cref="MeshTlsConnector"/> talking to a <see cref="MeshTlsServerLayer"/> over in-memory pipes.</summary>
public sealed class MeshTlsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string ServerId = TestPki.Id("default", "server");
    private static readonly string ClientId = TestPki.Id("default", "client");

    private readonly TestPki _pki = TestPki.Create();
    private readonly ProxyMetrics _metrics = new(new MetricsRegistry());
    private readonly ListLogger<MeshTlsServerLayer> _serverLog = new();
    private readonly ListLogger<MeshTlsConnector> _clientLog = new();
    private ProxyConnection? _meshConnection;
    private ProxyConnection? _opaqueConnection;
    private Counter? _echoed;

    private long HandshakeFailures =>
        _metrics.TcpCloseTotal.WithLabels("inbound", "src", "false", "tls_handshake").Value;

    [Fact]
    public async Task Connect_TrustedPeers_PlaintextCrossesAndServerSeesClientId()
    {
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId), EchoAsync);

        await using var connection = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        await connection.Transport.Output.WriteAsync("hello, mesh"u8.ToArray());
        await connection.Transport.Output.CompleteAsync();
        var echoed = await ReadToEndAsync(connection.Transport.Input);
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Equal("hello, mesh"u8.ToArray(), echoed);
        Assert.Equal(new ConnectionTls(true, ClientId), _meshConnection!.Tls);
        Assert.Equal(new ConnectionTls(true, ClientId), inner.ServerConnection!.Tls);
        Assert.Equal(PipePair.ClientAddress, _meshConnection.ClientAddress);
        Assert.Equal(InMemoryConnector.Target, _meshConnection.Target);
        Assert.Equal(0, HandshakeFailures);
    }

    /// <summary>
    /// Writes of every size around a TLS record (16 KiB of plaintext) cross intact both ways: the
    /// read loop decrypts one record at a time and takes a record's rest straight from SslStream.
    /// </summary>
    [Fact]
    public async Task Connect_LargeTransferInOddWrites_EchoedIntact()
    {
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId), EchoAsync);
        var payload = new byte[1 << 20];
        new Random(7).NextBytes(payload);
        int[] sizes = [1, 100, 16383, 16384, 16385, 70000, 5];

        await using var connection = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        var reading = ReadToEndAsync(connection.Transport.Input);
        for (int offset = 0, i = 0; offset < payload.Length; i++)
        {
            var size = Math.Min(sizes[i % sizes.Length], payload.Length - offset);
            await connection.Transport.Output.WriteAsync(payload.AsMemory(offset, size));
            offset += size;
        }

        await connection.Transport.Output.CompleteAsync();
        var echoed = await reading;
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Equal(payload.Length, echoed.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed), "the echoed bytes differ from those sent");
    }

    /// <summary>Closing a connection whose read loop waits for the peer stops the loop instead of waiting on it.</summary>
    [Fact]
    public async Task Dispose_IdleConnection_Returns()
    {
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId), EchoAsync);
        var connection = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        await connection.Transport.Output.WriteAsync("x"u8.ToArray());
        var echoed = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal("x"u8.ToArray(), echoed.Buffer.ToArray());
        connection.Transport.Input.AdvanceTo(echoed.Buffer.End);

        await connection.DisposeAsync().AsTask().WaitAsync(Bound);
        await inner.ServerTask.WaitAsync(Bound);
    }

    /// <summary>A record that fails to decrypt ends the plaintext input with the error rather than leaving the reader waiting.</summary>
    [Fact]
    public async Task Connect_CorruptRecordFromPeer_PlaintextInputFails()
    {
        var serverReady = new TaskCompletionSource<ProxyConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId), async connection =>
        {
            serverReady.SetResult(connection);
            await release.Task;
        });

        await using var connection = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None);
        await serverReady.Task.WaitAsync(Bound);
        // An application-data record of 32 bytes that no key produced, written under the server's TLS.
        byte[] corrupt = [23, 3, 3, 0, 32, .. Enumerable.Repeat((byte)0x5A, 32)];
        await inner.ServerConnection!.Transport.Output.WriteAsync(corrupt);

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await ReadToEndAsync(connection.Transport.Input));
        Assert.IsNotType<TimeoutException>(error);
        release.SetResult();
        await inner.ServerTask.WaitAsync(Bound);
    }

    [Fact]
    public async Task ExpectingIdentity_Adapter_ConnectsAsUpstreamConnector()
    {
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId), EchoAsync);
        IUpstreamConnector upstream = connector.ExpectingIdentity(ServerId);

        await using var connection = await upstream.ConnectAsync(InMemoryConnector.Target, CancellationToken.None);
        await connection.Transport.Output.WriteAsync("x"u8.ToArray());
        await connection.Transport.Output.CompleteAsync();

        Assert.Equal("x"u8.ToArray(), await ReadToEndAsync(connection.Transport.Input));
        await inner.ServerTask.WaitAsync(Bound);
    }

    [Fact]
    public async Task Connect_ClientTrustsOtherAnchor_ClientRefusesServer()
    {
        var other = TestPki.Create("other");
        var (connector, inner) = Setup(_pki.Identity(ServerId), _pki.Identity(ClientId, trust: other), EchoAsync);

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(
            () => connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None).AsTask());
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Equal(ProxyError.UpstreamProtocolError, error.Error);
        Assert.Contains("not trusted", Assert.IsType<MeshTlsException>(error.InnerException).Message, StringComparison.Ordinal);
        Assert.Contains(_clientLog.Lines, line => line.Contains("not trusted", StringComparison.Ordinal));
        AssertNothingCrossed();
    }

    [Fact]
    public async Task Connect_ServerTrustsOtherAnchor_ServerRefusesClient()
    {
        var other = TestPki.Create("other");
        var (connector, inner) = Setup(_pki.Identity(ServerId, trust: other), _pki.Identity(ClientId), EchoAsync);

        await AssertClientRefusedAsync(connector);
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Null(_meshConnection);
        Assert.Equal(1, HandshakeFailures);
        Assert.Contains(_serverLog.Lines, line => line.Contains("peer certificate not trusted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_ExpiredServerLeaf_ClientRefuses()
    {
        var expired = _pki.Identity(ServerId, notBefore: TestPki.Now.AddDays(-2), notAfter: TestPki.Now.AddDays(-1));
        var (connector, inner) = Setup(expired, _pki.Identity(ClientId), EchoAsync);

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(
            () => connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None).AsTask());
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Contains("NotTimeValid", error.InnerException!.Message, StringComparison.Ordinal);
        AssertNothingCrossed();
    }

    [Fact]
    public async Task Connect_ExpiredClientLeaf_ServerRefuses()
    {
        var expired = _pki.Identity(ClientId, notBefore: TestPki.Now.AddDays(-2), notAfter: TestPki.Now.AddDays(-1));
        var (connector, inner) = Setup(_pki.Identity(ServerId), expired, EchoAsync);

        await AssertClientRefusedAsync(connector);
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Null(_meshConnection);
        Assert.Equal(1, HandshakeFailures);
        Assert.Contains(_serverLog.Lines, line => line.Contains("NotTimeValid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_ServerHasOtherIdentity_ClientRefuses()
    {
        var (connector, inner) = Setup(_pki.Identity(TestPki.Id("default", "impostor")), _pki.Identity(ClientId), EchoAsync);

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(
            () => connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None).AsTask());
        await inner.ServerTask.WaitAsync(Bound);

        Assert.Equal(ProxyError.UpstreamProtocolError, error.Error);
        Assert.Equal(
            $"peer identity is {TestPki.Id("default", "impostor")}, expected {ServerId}",
            error.InnerException!.Message);
        AssertNothingCrossed();
    }

    [Fact]
    public async Task Invoke_ClientWithoutCertificate_Refused()
    {
        var layer = Layer(_pki.Identity(ServerId), TimeProvider.System);
        var (client, server) = PipePair.CreateContexts();
        var serverTask = layer.InvokeAsync(new ProxyConnection(server, TrafficDirection.Inbound, InMemoryConnector.Target));
        await using var ssl = new SslStream(new DuplexPipeStream(client.Transport));
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = string.Empty,
            ApplicationProtocols = [MeshTls.Alpn],
            EnabledSslProtocols = SslProtocols.Tls13,
            // Trust the server so that only the missing client certificate can fail this handshake.
#pragma warning disable CA5359
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
        };

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // TLS 1.3 lets the client finish before the server judges its (missing) certificate:
            // the refusal then shows on the first read.
            await ssl.AuthenticateAsClientAsync(options);
            var buffer = new byte[1];
            if (await ssl.ReadAsync(buffer) == 0)
            {
                throw new IOException("closed");
            }
        }).WaitAsync(Bound);
        await serverTask.WaitAsync(Bound);

        Assert.Null(_meshConnection);
        Assert.Equal(1, HandshakeFailures);
        Assert.Contains(_serverLog.Lines, line => line.Contains("no certificate", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("h2")]
    [InlineData(null)]
    public async Task Invoke_NonMeshHello_GoesToOpaqueWithNothingConsumed(string? alpn)
    {
        var hello = TestClientHello.Build("app.example", alpn is null ? null : [alpn]);
        var received = Array.Empty<byte>();
        var layer = Layer(_pki.Identity(ServerId), TimeProvider.System, opaque: async c =>
        {
            _opaqueConnection = c;
            received = await ReadToEndAsync(c.Transport.Input);
        });
        var (client, server) = PipePair.CreateContexts();
        var connection = new ProxyConnection(server, TrafficDirection.Inbound, InMemoryConnector.Target);

        var serverTask = layer.InvokeAsync(connection);
        await client.Transport.Output.WriteAsync(hello.AsMemory(0, 10));
        await client.Transport.Output.WriteAsync(hello.AsMemory(10));
        await client.Transport.Output.WriteAsync("app bytes"u8.ToArray());
        await client.Transport.Output.CompleteAsync();
        await serverTask.WaitAsync(Bound);

        Assert.Same(connection, _opaqueConnection);
        Assert.Equal([.. hello, .. "app bytes"u8.ToArray()], received);
        Assert.Equal(ConnectionTls.None, connection.Tls);
        Assert.Null(_meshConnection);
    }

    [Fact]
    public async Task Invoke_GarbageAfterTlsByte_GoesToOpaque()
    {
        byte[] garbage = [22, 3, 1, 0, 0, 1, 2, 3];
        var received = Array.Empty<byte>();
        var layer = Layer(_pki.Identity(ServerId), TimeProvider.System, opaque: async c => received = await ReadToEndAsync(c.Transport.Input));
        var (client, server) = PipePair.CreateContexts();

        var serverTask = layer.InvokeAsync(new ProxyConnection(server, TrafficDirection.Inbound, InMemoryConnector.Target));
        await client.Transport.Output.WriteAsync(garbage);
        await client.Transport.Output.CompleteAsync();
        await serverTask.WaitAsync(Bound);

        Assert.Equal(garbage, received);
        Assert.Equal(0, HandshakeFailures);
    }

    [Fact]
    public async Task Invoke_StalledClientHello_TimesOutAndCloses()
    {
        var time = new FakeTimeProvider(TestPki.Now);
        var layer = Layer(_pki.Identity(ServerId), time);
        var (client, server) = PipePair.CreateContexts();
        var hello = TestClientHello.Build(null, ["trellis.mesh/1"]);

        var serverTask = layer.InvokeAsync(new ProxyConnection(server, TrafficDirection.Inbound, InMemoryConnector.Target));
        await client.Transport.Output.WriteAsync(hello.AsMemory(0, 20));
        time.Advance(MeshTls.DefaultHandshakeTimeout);
        await serverTask.WaitAsync(Bound);

        Assert.Null(_meshConnection);
        Assert.Null(_opaqueConnection);
        Assert.Equal(1, HandshakeFailures);
        Assert.Contains(_serverLog.Lines, line => line.Contains("timed out waiting for the ClientHello", StringComparison.Ordinal));
        var closed = await client.Transport.Input.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.True(closed.IsCompleted);
    }

    [Fact]
    public async Task Invoke_ClientStallsMidHandshake_TimesOutAndCloses()
    {
        var time = new FakeTimeProvider(TestPki.Now);
        var layer = Layer(_pki.Identity(ServerId), time);
        var (client, server) = PipePair.Create();
        var serverContext = new DefaultConnectionContext("server", server, client);
        var serverTask = layer.InvokeAsync(new ProxyConnection(serverContext, TrafficDirection.Inbound, InMemoryConnector.Target));

        // The client sends its hello, then never reads the server's answer nor finishes.
        var silent = new Pipe();
        using var ssl = new SslStream(new DuplexPipeStream(new DuplexPipe(silent.Reader, client.Output)));
        var options = new SslClientAuthenticationOptions { TargetHost = string.Empty, ApplicationProtocols = [MeshTls.Alpn] };
        var clientHandshake = ssl.AuthenticateAsClientAsync(options);
        var serverFlight = await client.Input.ReadAsync().AsTask().WaitAsync(Bound);
        client.Input.AdvanceTo(serverFlight.Buffer.End);
        time.Advance(MeshTls.DefaultHandshakeTimeout);
        await serverTask.WaitAsync(Bound);

        Assert.Null(_meshConnection);
        Assert.Equal(1, HandshakeFailures);
        Assert.Contains(_serverLog.Lines, line => line.Contains("handshake timed out", StringComparison.Ordinal));
        await silent.Writer.CompleteAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => clientHandshake.WaitAsync(Bound));
    }

    [Fact]
    public async Task Connect_ServerNeverAnswers_TimesOut()
    {
        var time = new FakeTimeProvider(TestPki.Now);
        var inner = new InMemoryConnector(_ => Task.CompletedTask);
        var connector = new MeshTlsConnector(inner, new StaticIdentitySource(_pki.Identity(ClientId)), time, _clientLog);

        var connect = connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None).AsTask();
        time.Advance(MeshTls.DefaultHandshakeTimeout);
        var error = await Assert.ThrowsAsync<UpstreamConnectException>(() => connect.WaitAsync(Bound));

        Assert.Equal(ProxyError.ConnectTimeout, error.Error);
        Assert.Equal("handshake timed out", error.InnerException!.Message);
    }

    private (MeshTlsConnector Connector, InMemoryConnector Inner) Setup(
        MeshIdentity serverIdentity, MeshIdentity clientIdentity, ProxyConnectionHandler next)
    {
        var layer = Layer(serverIdentity, TimeProvider.System, next: next);
        var inner = new InMemoryConnector(layer.InvokeAsync);
        var connector = new MeshTlsConnector(inner, new StaticIdentitySource(clientIdentity), TimeProvider.System, _clientLog);
        return (connector, inner);
    }

    private MeshTlsServerLayer Layer(
        MeshIdentity identity, TimeProvider time, ProxyConnectionHandler? next = null, ProxyConnectionHandler? opaque = null) =>
        new(
            next ?? (_ => throw new InvalidOperationException("the mesh stack must not be used")),
            opaque ?? (_ => throw new InvalidOperationException("the opaque stack must not be used")),
            new StaticIdentitySource(identity),
            _metrics,
            time,
            _serverLog);

    private async Task EchoAsync(ProxyConnection connection)
    {
        _meshConnection = connection;
        var counted = _metrics.Registry.Counter("test_echoed_bytes", "Bytes the test echo server received.").WithLabels();
        _echoed = counted;
        try
        {
            var metered = new CountingDuplexPipe(connection.Transport, counted, _metrics.Registry.Counter("test_echo_written", "Bytes echoed back.").WithLabels());
            await PipeCopy.OneWayAsync(metered.Input, metered.Output, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            // The client walked away after refusing this server.
        }
    }

    /// <summary>
    /// A TLS 1.3 client judges the server's certificate after sending its own Finished, so the
    /// server may complete its handshake before the client hangs up: it must receive nothing.
    /// </summary>
    private void AssertNothingCrossed() => Assert.Equal(0, _echoed?.Value ?? 0);

    /// <summary>The server refused the client: either the handshake or the first read fails, or the stream just ends.</summary>
    private static async Task AssertClientRefusedAsync(MeshTlsConnector connector)
    {
        ConnectionContext connection;
        try
        {
            connection = await connector.ConnectAsync(InMemoryConnector.Target, ServerId, CancellationToken.None).AsTask().WaitAsync(Bound);
        }
        catch (UpstreamConnectException)
        {
            return;
        }

        await using (connection)
        {
            try
            {
                var received = await ReadToEndAsync(connection.Transport.Input);
                Assert.Empty(received);
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
            }
        }
    }

    private static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(Bound);
            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
