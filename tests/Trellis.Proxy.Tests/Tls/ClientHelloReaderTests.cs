using System.Buffers;
using System.Net.Security;
using System.Text;
using Trellis.Proxy.Tls;

namespace Trellis.Proxy.Tests.Tls;

public sealed class ClientHelloReaderTests
{
    [Fact]
    public void TryRead_WholeHello_ReturnsSniAndAlpn()
    {
        var hello = TestClientHello.Build("web.default.svc", ["trellis.mesh/1", "h2"]);

        var status = ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out var info);

        Assert.Equal(ClientHelloStatus.Parsed, status);
        Assert.Equal("web.default.svc", info!.ServerName);
        Assert.Equal(["trellis.mesh/1", "h2"], info.ApplicationProtocols.Select(p => p.ToString()));
        Assert.True(info.Offers(MeshTls.Alpn));
    }

    [Fact]
    public void TryRead_NoExtensions_ParsedWithoutSniOrAlpn()
    {
        var hello = TestClientHello.Build(null, null, withExtensions: false);

        var status = ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out var info);

        Assert.Equal(ClientHelloStatus.Parsed, status);
        Assert.Null(info!.ServerName);
        Assert.Empty(info.ApplicationProtocols);
        Assert.False(info.Offers(MeshTls.Alpn));
    }

    [Fact]
    public void TryRead_EveryPrefix_NeedsMoreData()
    {
        var hello = TestClientHello.Build("a.example", ["h2"]);

        for (var length = 0; length < hello.Length; length++)
        {
            var status = ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello, 0, length), out _);
            Assert.True(status == ClientHelloStatus.NeedMoreData, $"prefix of {length} bytes gave {status}");
        }
    }

    [Fact]
    public void TryRead_SplitAcrossSegmentsAtEveryOffset_Parsed()
    {
        var hello = TestClientHello.Build("a.example", ["trellis.mesh/1"]);

        for (var cut = 1; cut < hello.Length; cut++)
        {
            var status = ClientHelloReader.TryRead(TestClientHello.Segmented(hello, cut, cut + 3), out var info);
            Assert.Equal(ClientHelloStatus.Parsed, status);
            Assert.Equal("a.example", info!.ServerName);
        }
    }

    [Fact]
    public void TryRead_FragmentedAcrossRecords_Reassembled()
    {
        var hello = TestClientHello.Build("fragmented.example", ["trellis.mesh/1"], maxFragment: 7);

        Assert.Equal(ClientHelloStatus.NeedMoreData, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello, 0, hello.Length - 1), out _));
        var status = ClientHelloReader.TryRead(TestClientHello.Segmented(hello, 3, 17, 40), out var info);

        Assert.Equal(ClientHelloStatus.Parsed, status);
        Assert.Equal("fragmented.example", info!.ServerName);
        Assert.True(info.Offers(MeshTls.Alpn));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("G")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    public void TryRead_NotTls_Invalid(string text)
    {
        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), out _));
    }

    [Theory]
    [InlineData(new byte[] { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 })] // application data record
    [InlineData(new byte[] { 22, 2, 0, 0, 5, 1, 0, 0, 1, 0 })] // SSL 2-era version
    [InlineData(new byte[] { 22, 3, 1, 0, 0 })] // empty record
    [InlineData(new byte[] { 22, 3, 1, 0, 4, 2, 0, 0, 0 })] // ServerHello, not ClientHello
    [InlineData(new byte[] { 22, 3, 1, 0, 1, 2 })] // ServerHello type seen in the first byte
    [InlineData(new byte[] { 22, 3, 1, 0x40, 0x01 })] // record longer than 16 KiB
    public void TryRead_GarbageRecords_Invalid(byte[] bytes)
    {
        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(bytes), out _));
    }

    [Fact]
    public void TryRead_OversizedHello_InvalidFromItsHeaderAlone()
    {
        // A handshake header announcing a 64 KiB ClientHello: refused before any of it arrives.
        byte[] bytes = [22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00];

        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(bytes), out _));
    }

    [Fact]
    public void TryRead_MalformedAlpnList_Invalid()
    {
        // The ALPN list claims 10 bytes but the extension carries 3.
        var badAlpn = TestClientHello.Extension(16, [0, 10, 2, (byte)'h', (byte)'2']);
        var hello = TestClientHello.Build(null, null, extraExtension: badAlpn);

        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out _));
    }

    [Fact]
    public void TryRead_EmptyProtocolName_Invalid()
    {
        var hello = TestClientHello.Build(null, [""]);

        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out _));
    }

    [Fact]
    public void TryRead_DuplicateServerName_Invalid()
    {
        var name = "b.example"u8.ToArray();
        byte[] entry = [0, 0, (byte)name.Length, .. name];
        var secondSni = TestClientHello.Extension(0, [0, (byte)entry.Length, .. entry]);
        var hello = TestClientHello.Build("a.example", null, extraExtension: secondSni);

        Assert.Equal(ClientHelloStatus.Invalid, ClientHelloReader.TryRead(new ReadOnlySequence<byte>(hello), out _));
    }

    [Fact]
    public async Task TryRead_SslStreamHello_ParsedWithItsAlpn()
    {
        var (client, server) = PipePair.Create();
        using var ssl = new SslStream(new DuplexPipeStream(client));
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "web.default.svc",
            ApplicationProtocols = [MeshTls.Alpn, SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, _, _, _) => false,
        };
        var handshake = ssl.AuthenticateAsClientAsync(options);

        ClientHelloInfo? info;
        while (true)
        {
            var result = await server.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            var status = ClientHelloReader.TryRead(result.Buffer, out info);
            server.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (status != ClientHelloStatus.NeedMoreData)
            {
                Assert.Equal(ClientHelloStatus.Parsed, status);
                break;
            }
        }

        Assert.Equal("web.default.svc", info!.ServerName);
        Assert.Equal([MeshTls.Alpn, SslApplicationProtocol.Http2], info.ApplicationProtocols);
        await server.Output.CompleteAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
    }
}
