using System.Diagnostics;
using Trellis.Bench.Orchestration;

namespace Trellis.Bench.Tests.Orchestration;

public sealed class ProcSamplerTests
{
    [Fact]
    public void ParseStatus_ReadsPeakResidentAndAnonymous()
    {
        const string status = "Name:\ttrellis-proxy\nVmPeak:\t  274732 kB\nVmHWM:\t   18800 kB\nVmRSS:\t    9120 kB\nRssAnon:\t    5316 kB\nRssFile:\t    3804 kB\n";

        Assert.Equal((18800L, 9120L, 5316L), ProcSampler.ParseStatus(status));
    }

    [Fact]
    public void ParseStatus_KernelThreadWithoutMemoryLines_IsZero()
    {
        Assert.Equal((0L, 0L, 0L), ProcSampler.ParseStatus("Name:\tkthreadd\nState:\tS (sleeping)\n"));
    }

    [Fact]
    public void ReadStatus_ThisProcess_HasResidentAndAnonymousMemory()
    {
        var (peak, rss, anon) = ProcSampler.ReadStatus(Environment.ProcessId);

        Assert.True(rss > 0 && peak >= rss && anon > 0 && anon <= rss, $"peak {peak}, rss {rss}, anon {anon} kB");
    }

    [Fact]
    public async Task ReadStatus_ExitedProcess_IsZero()
    {
        using var exited = Process.Start("true")!;
        await exited.WaitForExitAsync();
        var pid = exited.Id;

        Assert.Equal((0L, 0L, 0L), ProcSampler.ReadStatus(pid));
    }
}
