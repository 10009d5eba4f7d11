using Microsoft.Extensions.Time.Testing;
using Trellis.Controller.Registry;
using Trellis.Controller.Tokens;

namespace Trellis.Controller.Tests.Tokens;

public sealed class WorkloadTokensTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Validate_IssuedToken_ProvesNamespaceAndServiceAccount()
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);

        var result = tokens.Validate(tokens.Issue("demo", "web", TimeSpan.FromHours(1)).Token);

        Assert.True(result.IsValid);
        Assert.Equal("demo", result.Namespace);
        Assert.Equal("web", result.ServiceAccount);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.State.TokenKey));
    }

    [Fact]
    public void Validate_AfterExpiry_Fails()
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);
        var token = tokens.Issue("demo", "web", TimeSpan.FromHours(1)).Token;

        _time.Advance(TimeSpan.FromHours(1));

        Assert.Contains("expired", tokens.Validate(token).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TamperedPayload_Fails()
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);
        var parts = tokens.Issue("demo", "web", TimeSpan.FromHours(1)).Token.Split('.');
        var forged = System.Buffers.Text.Base64Url.EncodeToString("demo\nadmin\n99999999999"u8);

        var result = tokens.Validate($"{parts[0]}.{forged}.{parts[2]}");

        Assert.False(result.IsValid);
        Assert.Contains("signature", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TokenFromAnotherKey_Fails()
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);
        using var otherDir = new TempDirectory();
        var other = WorkloadTokens.LoadOrCreate(otherDir.State, _time);

        Assert.False(tokens.Validate(other.Issue("demo", "web", TimeSpan.FromHours(1)).Token).IsValid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("trellis1.abc")]
    [InlineData("jwt.abc.def")]
    [InlineData("trellis1.!!!.def")]
    public void Validate_Malformed_Fails(string token)
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);

        Assert.False(tokens.Validate(token).IsValid);
    }

    [Fact]
    public void Issue_InvalidNamespace_Throws()
    {
        var tokens = WorkloadTokens.LoadOrCreate(_dir.State, _time);

        Assert.Throws<RegistryException>(() => tokens.Issue("Demo\n", "web", TimeSpan.FromHours(1)));
    }

    [Fact]
    public void LoadOrCreate_SecondTime_ValidatesEarlierTokens()
    {
        var token = WorkloadTokens.LoadOrCreate(_dir.State, _time).Issue("demo", "web", TimeSpan.FromHours(1)).Token;

        Assert.True(WorkloadTokens.LoadOrCreate(_dir.State, _time).Validate(token).IsValid);
    }
}
