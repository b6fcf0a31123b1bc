using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class WorkloadStateTests
{
    private static readonly WorkloadKey Key = new("prod", "shop", "Deployment", "cart", "cart");

    private static DetectionOptions Options(bool models = false) => new()
    {
        LearningDuration = TimeSpan.FromMinutes(5),
        MinLearningEvents = 10,
        AlertCooldown = TimeSpan.FromMinutes(10),
        Models = new ModelOptions { Enabled = models, ShadowDuration = TimeSpan.Zero },
    };

    private static WorkloadObservation Observe(WorkloadState s, RuntimeEvent e, DateTimeOffset now, List<Finding>? findings = null) =>
        s.Observe(e, e.FilePath is { } p ? PathNormalizer.Normalize(p) : null, null, now, findings ?? []);

    /// <summary>A cart service that learned for six minutes, went active and alerted once.</summary>
    private static (WorkloadState State, DateTimeOffset Now) Learned(DetectionOptions o)
    {
        var t0 = Some.Time;
        var s = WorkloadState.New(Key, o, t0, null, null);
        for (var i = 0; i < 360; i++)
        {
            var t = t0.AddSeconds(i);
            Observe(s, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t);
            Observe(s, Some.FileOpen($"/srv/uploads/u{i % 40}.png"), t);
            Observe(s, Some.Connect("10.96.0.5", 5432), t);
            Observe(s, Some.Dns("db.shop.svc.cluster.local."), t);
        }

        var now = t0.AddMinutes(7);
        var findings = new List<Finding>();
        Observe(s, Some.Exec("/bin/sh", "/usr/bin/node"), now, findings);
        Assert.NotEmpty(findings);
        return (s, now);
    }

    [Fact]
    public void Snapshot_RestoredAndSnapshotAgain_IsTheSameBytes()
    {
        var o = Options();
        var (state, now) = Learned(o);
        var first = state.Snapshot(now);

        var restored = WorkloadState.Restore(Key, first, o, null, null, out var info, out var modelServed);
        var second = restored.Snapshot(now);

        Assert.Equal(first, second);
        Assert.Equal(now, info.WrittenAt);
        Assert.Null(modelServed);
        Assert.Equal(BaselinePhase.Active, restored.Phase);
        Assert.Equal(state.Baseline.EventsLearned, restored.Baseline.EventsLearned);
        Assert.Equal(state.Baseline.AlertsRaised, restored.Baseline.AlertsRaised);
        foreach (var f in Enum.GetValues<Feature>())
        {
            Assert.Equal(state.Baseline.Counter(f).Count, restored.Baseline.Counter(f).Count);
        }
    }

    [Fact]
    public void Restore_BehavesAsTheOriginal_KnownQuietNewFound()
    {
        var o = Options();
        var (state, now) = Learned(o);
        var restored = WorkloadState.Restore(Key, state.Snapshot(now), o, null, null, out _, out _);
        var later = now.AddMinutes(1);

        var findings = new List<Finding>();
        Observe(restored, Some.Exec("/usr/bin/node", "/usr/bin/tini"), later, findings);
        Assert.Empty(findings);
        Observe(restored, Some.Connect("203.0.113.9", 4444), later, findings);
        Assert.Single(findings);
        Assert.Equal(Feature.Endpoint, findings[0].Feature);
    }

    [Fact]
    public void Restore_AnotherWorkloadsSnapshot_IsRefused()
    {
        var o = Options();
        var (state, now) = Learned(o);

        var ex = Assert.Throws<CheckpointRejectedException>(() => WorkloadState.Restore(new WorkloadKey("prod", "shop", "Deployment", "api", "api"), state.Snapshot(now), o, null, null, out _, out _));
        Assert.Contains(Key.Value, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_EndOfLearning_ReturnsThePhaseChangeAndWhatWasLearned()
    {
        var o = Options();
        var t0 = Some.Time;
        var s = WorkloadState.New(Key, o, t0, null, null);

        var first = Observe(s, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t0);
        Assert.Equal(1, first.Baseline.Learned(Feature.Exec));
        Assert.Equal(1, first.Baseline.Learned(Feature.Lineage));
        Assert.False(first.Baseline.PhaseChanged);
        for (var i = 1; i < 20; i++)
        {
            Assert.False(Observe(s, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t0.AddSeconds(i)).Baseline.Any);
        }

        var end = Observe(s, Some.Exec("/usr/bin/node", "/usr/bin/tini"), t0.AddMinutes(6));
        Assert.True(end.Baseline.PhaseChanged);
        Assert.Equal((BaselinePhase.Learning, BaselinePhase.Active), (end.Baseline.From, end.Baseline.To));
    }

    [Fact]
    public void Observe_CapReached_ReturnsTheRefusedItems()
    {
        var o = Options();
        o.MaxItemsPerFeature = 4;
        var t0 = Some.Time;
        var s = WorkloadState.New(Key, o, t0, null, null);
        var refused = 0;
        for (var i = 0; i < 10; i++)
        {
            refused += Observe(s, Some.Dns($"n{i}.example.com."), t0.AddSeconds(i)).Baseline.Exceeded(Feature.Dns);
        }

        Assert.Equal(6, refused);
    }
}
