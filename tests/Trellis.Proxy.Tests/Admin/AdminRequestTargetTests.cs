using System.Text;
using Trellis.Proxy.Admin;

namespace Trellis.Proxy.Tests.Admin;

public class AdminRequestTargetTests
{
    [Theory]
    [InlineData("/metrics", "/metrics")]
    [InlineData("/metrics?x=1", "/metrics")]
    [InlineData("/?x", "/")]
    [InlineData("http://admin:4191/ready?x=1", "/ready")]
    [InlineData("http://admin:4191", "/")]
    [InlineData("http://admin:4191?x=/live", "/")]
    [InlineData("*", "*")]
    public void Path_OfTarget_IsItsPathWithoutQuery(string target, string expected)
    {
        Assert.Equal(expected, AdminRequestTarget.Path(Encoding.ASCII.GetBytes(target)));
    }
}
