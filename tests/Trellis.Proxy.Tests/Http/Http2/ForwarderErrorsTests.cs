using System.Net.Http;
using System.Net.Sockets;
using Trellis.Proxy.Http.Http2;
using Trellis.Proxy.Transport;
using Yarp.ReverseProxy.Forwarder;

namespace Trellis.Proxy.Tests.Http.Http2;

public class ForwarderErrorsTests
{
    [Theory]
    [InlineData(SocketError.ConnectionRefused, ProxyError.ConnectionRefused)]
    [InlineData(SocketError.HostUnreachable, ProxyError.HostUnreachable)]
    [InlineData(SocketError.NetworkUnreachable, ProxyError.HostUnreachable)]
    [InlineData(SocketError.TimedOut, ProxyError.ConnectTimeout)]
    [InlineData(SocketError.ConnectionReset, ProxyError.UpstreamClosed)]
    public void ToProxyError_RequestFailedWithInnerSocketError_MapsTheSocketError(SocketError socketError, ProxyError expected)
    {
        var exception = new HttpRequestException("connect failed", new SocketException((int)socketError));

        Assert.Equal(expected, ForwarderErrors.ToProxyError(ForwarderError.Request, exception));
    }

    [Fact]
    public void ToProxyError_ConnectTimeoutCancellation_IsConnectTimeout()
    {
        var exception = new TaskCanceledException("connect timed out", new TimeoutException());

        Assert.Equal(ProxyError.ConnectTimeout, ForwarderErrors.ToProxyError(ForwarderError.RequestTimedOut, exception));
    }

    [Fact]
    public void ToProxyError_ActivityTimeout_IsResponseTimeout()
    {
        Assert.Equal(ProxyError.ResponseTimeout, ForwarderErrors.ToProxyError(ForwarderError.RequestTimedOut, new TaskCanceledException()));
    }

    [Fact]
    public void ToProxyError_InvalidResponse_IsUpstreamProtocolError()
    {
        var exception = new HttpRequestException(HttpRequestError.InvalidResponse, "bad frame");

        Assert.Equal(ProxyError.UpstreamProtocolError, ForwarderErrors.ToProxyError(ForwarderError.Request, exception));
    }

    [Fact]
    public void ToProxyError_ResponseBodyBrokeWithoutDetail_IsUpstreamClosed()
    {
        Assert.Equal(ProxyError.UpstreamClosed, ForwarderErrors.ToProxyError(ForwarderError.ResponseBodyDestination, new IOException("reset")));
    }

    [Fact]
    public void ToProxyError_None_IsNone()
    {
        Assert.Equal(ProxyError.None, ForwarderErrors.ToProxyError(ForwarderError.None, null));
    }

    [Theory]
    [InlineData(ForwarderError.RequestCanceled, true)]
    [InlineData(ForwarderError.RequestBodyClient, true)]
    [InlineData(ForwarderError.ResponseBodyClient, true)]
    [InlineData(ForwarderError.ResponseBodyCanceled, true)]
    [InlineData(ForwarderError.Request, false)]
    [InlineData(ForwarderError.ResponseBodyDestination, false)]
    [InlineData(ForwarderError.RequestTimedOut, false)]
    public void IsClientSide_ByPhase_OnlyClientFailures(ForwarderError error, bool expected)
    {
        Assert.Equal(expected, ForwarderErrors.IsClientSide(error));
    }

    [Theory]
    [InlineData(ProxyError.ConnectionRefused, 14)]
    [InlineData(ProxyError.NoEndpoints, 14)]
    [InlineData(ProxyError.ConnectTimeout, 4)]
    [InlineData(ProxyError.ResponseTimeout, 4)]
    public void GrpcStatus_ByError_UnavailableOrDeadlineExceeded(ProxyError error, int expected)
    {
        Assert.Equal(expected, error.GrpcStatus());
    }
}
