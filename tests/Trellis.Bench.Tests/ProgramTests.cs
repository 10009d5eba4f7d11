namespace Trellis.Bench.Tests;

public sealed class ProgramTests
{
    [Theory]
    [InlineData("--hops", "3")]
    [InlineData("--setups", "direct,envoy")]
    [InlineData("--rounds", "0")]
    [InlineData("--phase-seconds", "0.1")]
    [InlineData("--quiet-seconds", "-1")]
    [InlineData("--quiet-seconds", "1801")]
    public void Parse_BadOption_ReportsError(string option, string value)
    {
        var result = Program.BuildCommand().Parse([option, value]);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Parse_QuickAndSmoke_ReportsError()
    {
        Assert.NotEmpty(Program.BuildCommand().Parse(["--quick", "--smoke"]).Errors);
    }

    [Fact]
    public void Parse_QuickHopsOne_IsAccepted()
    {
        Assert.Empty(Program.BuildCommand().Parse(["--quick", "--hops", "1", "--setups", "direct,haproxy"]).Errors);
    }
}
