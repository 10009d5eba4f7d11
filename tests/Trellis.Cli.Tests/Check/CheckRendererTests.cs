using Trellis.Cli.Check;

namespace Trellis.Cli.Tests.Check;

public sealed class CheckRendererTests
{
    private static readonly List<CheckResult> Results =
    [
        new("trellis-controller", "controller process is running", CheckStatus.Ok, "pid 42", "run `trellis up`"),
        new("trellis-controller", "controller is reachable", CheckStatus.Ok, string.Empty, "see the log"),
        new("trellis-identity", "issuer certificate is valid and not close to expiry", CheckStatus.Error, "the issuer expires at 2026-12-01 00:00:00Z, in 6 days", "restart the controller"),
        new("trellis-proxies", "every proxy holds a valid identity certificate", CheckStatus.Warning, "demo/web-abcde (no certificate issued)", "check the proxy's log"),
        new("trellis-proxies", "every pod is ready", CheckStatus.Skipped, "skipped: x failed", "hint"),
    ];

    [Fact]
    public void Text_MixedResults_MatchesGolden() => Golden.Assert("check_output.golden", CheckRenderer.Text(Results));

    [Fact]
    public void JsonText_MixedResults_MatchesGolden() => Golden.Assert("check_output_json.golden", CheckRenderer.JsonText(Results));

    [Fact]
    public async Task RunAsync_FatalFailure_SkipsLaterChecksAndFails()
    {
        var ran = false;
        CheckDefinition[] checks =
        [
            new("c", "first", "fix it", CheckSeverity.Fatal, (_, _) => Task.FromResult(CheckOutcome.Fail("down"))),
            new("c", "second", "hint", CheckSeverity.Error, (_, _) =>
            {
                ran = true;
                return Task.FromResult(CheckOutcome.Pass());
            }),
        ];
        using var context = new CheckContext(new Controller.State.StateDirectory("/nonexistent"), null, TimeProvider.System);

        var results = await CheckRunner.RunAsync(checks, context, CancellationToken.None);

        Assert.False(ran);
        Assert.Equal([CheckStatus.Error, CheckStatus.Skipped], results.Select(r => r.Status));
        Assert.False(CheckRunner.Succeeded(results));
    }

    [Fact]
    public async Task RunAsync_WarningOnly_Succeeds()
    {
        CheckDefinition[] checks = [new("c", "w", "hint", CheckSeverity.Warning, (_, _) => Task.FromResult(CheckOutcome.Fail("meh")))];
        using var context = new CheckContext(new Controller.State.StateDirectory("/nonexistent"), null, TimeProvider.System);

        Assert.True(CheckRunner.Succeeded(await CheckRunner.RunAsync(checks, context, CancellationToken.None)));
    }

    [Fact]
    public async Task RunAsync_ControllerNotRunning_FailsWithHint()
    {
        using var context = new CheckContext(new Controller.State.StateDirectory("/nonexistent"), null, TimeProvider.System);

        var results = await CheckRunner.RunAsync(HostsChecks.All, context, CancellationToken.None);

        Assert.Equal(CheckStatus.Error, results[0].Status);
        Assert.Contains("trellis up", results[0].Hint, StringComparison.Ordinal);
        Assert.All(results.Skip(1), r => Assert.Equal(CheckStatus.Skipped, r.Status));
    }

    [Fact]
    public void Expiry_CloseToExpiry_Fails()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));

        Assert.False(HostsChecks.Expiry("issuer", time.GetUtcNow().AddDays(5), time, TimeSpan.FromDays(30)).Passed);
        Assert.True(HostsChecks.Expiry("issuer", time.GetUtcNow().AddDays(50), time, TimeSpan.FromDays(30)).Passed);
        Assert.False(HostsChecks.Expiry("issuer", time.GetUtcNow().AddDays(-1), time, TimeSpan.Zero).Passed);
    }

    [Fact]
    public void ProxyVerdict_ReadyWithoutLedgerEntry_Passes()
    {
        // After a controller restart the ledger is empty but the proxies still hold certificates.
        var now = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        Api.Registry.V1.Pod[] pods = [new() { Namespace = "demo", Name = "web-bcdfg", Address = "10.42.0.2" }];

        Assert.True(HostsChecks.ProxyVerdict(pods, [null], now).Passed);
    }

    [Fact]
    public void ProxyVerdict_NotReadyOrExpiring_FailsNamingEachPod()
    {
        var now = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        Api.Registry.V1.Pod[] pods =
        [
            new() { Namespace = "demo", Name = "web-bcdfg", Address = "10.42.0.2" },
            new() { Namespace = "demo", Name = "web-hjklm", Address = "10.42.0.3", CertificateExpires = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now.AddMinutes(10)) },
            new() { Namespace = "demo", Name = "web-npqrs", Address = "10.42.0.4", CertificateExpires = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now.AddHours(20)) },
        ];

        var outcome = HostsChecks.ProxyVerdict(pods, ["answered 503", null, null], now);

        Assert.False(outcome.Passed);
        Assert.Contains("demo/web-bcdfg (answered 503)", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("demo/web-hjklm (certificate expires", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("web-npqrs", outcome.Message, StringComparison.Ordinal);
    }
}
