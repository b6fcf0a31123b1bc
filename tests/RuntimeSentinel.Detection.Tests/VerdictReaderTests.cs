using System.Text.Json;
using RuntimeSentinel.Core.Feedback;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Feedback;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class VerdictReaderTests
{
    private static readonly VerdictLimits Limits = new(TimeSpan.FromHours(24), TimeSpan.FromDays(7));

    private static (FeedbackVerdict? Verdict, VerdictAudit Audit) Read(string json, string? signer = "alice")
    {
        var audit = new VerdictAudit();
        using var doc = JsonDocument.Parse(json);
        return (VerdictReader.Read(doc.RootElement, signer, Some.Time, Some.Time, Limits, audit), audit);
    }

    [Fact]
    public void Read_ItemFalsePositive_VerdictForThatItemWithPendingDeadline()
    {
        var (v, a) = Read("""{"verdict":"false_positive","reason":"nightly report","workload":"prod/shop/Deployment/cart/cart","feature":"exec","item":{"a":"/usr/bin/pg_dump"}}""");

        Assert.NotNull(v);
        Assert.Equal((Feature.Exec, new FeatureKey("/usr/bin/pg_dump")), (v.Feature, v.Item!.Value));
        Assert.Equal(Some.Time + Limits.PendingTtl, v.PendingUntil);
        Assert.Equal("alice", a.Analyst);
    }

    [Fact]
    public void Read_EverythingWrongAtOnce_RejectedWithEveryReason()
    {
        var (v, a) = Read("""{"verdict":"maybe","analyst":"mallory","workload":"","feature":"nope","item":{"a":"x","n":"22"}}""");

        Assert.Null(v);
        Assert.Equal("rejected", a.Result);
        foreach (var why in new[] { "verdict must be", "is not the owner of the signing key", "analyst and reason are required", "workload", "feature must be one of", "item.n must be an integer" })
        {
            Assert.Contains(why, a.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_FeatureAcceptanceBeyondTheLimit_Rejected()
    {
        var (v, a) = Read("""{"verdict":"false_positive","reason":"migration","workload":"w","feature":"dns","scope":"feature","expires":"2099-01-01T00:00:00Z"}""");

        Assert.Null(v);
        Assert.Contains("at most 24 h after the verdict", a.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("\"3\"")]
    public void Read_DetectorVerdictWithoutAPlausibleScore_Rejected(string score)
    {
        var (v, a) = Read($$"""{"verdict":"false_positive","reason":"r","workload":"w","scope":"detector","detector":"behaviour_pca","score":{{score}}}""");

        Assert.Null(v);
        Assert.Contains("positive score", a.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Record_Applied_SaysWhatChanged()
    {
        var (v, a) = Read("""{"verdict":"false_positive","reason":"r","workload":"w","scope":"detector","detector":"behaviour_pca","score":7.5}""");

        VerdictReader.Record(a, v!, FeedbackResult.Applied, Limits);

        Assert.Equal("applied", a.Result);
        Assert.StartsWith("behaviour_pca threshold raised to", a.Detail, StringComparison.Ordinal);
    }
}
