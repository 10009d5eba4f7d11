using Microsoft.Extensions.Time.Testing;

namespace Trellis.Proxy.Tests.ControlPlane;

/// <summary>
/// Waits for a condition that another task (a stream loop, a server) makes true. The bound is
/// a safety net, not a timing assertion. With a fake clock, each round advances it, so loops
/// waiting on backoff or renewal delays move on.
/// </summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, FakeTimeProvider? time = null, TimeSpan? step = null)
    {
        for (var i = 0; i < 1000; i++)
        {
            if (condition())
                return;
            if (time is not null)
                time.Advance(step ?? TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }
        Assert.Fail($"timed out waiting for: {what}");
    }
}
