using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class RunHistoryTests
{
    private static readonly WorkloadRef Job = Some.Workload(ns: "data", owner: "backup") with { OwnerKind = "Job", OwnerName = "backup-29412345" };

    private static IEnumerable<RuntimeEvent> Run(int n, long bytes, int connections = 2)
    {
        var pod = Job with { Pod = $"backup-2941234{n}-abcde", ContainerId = $"containerd://{n:x12}" };
        yield return Some.Exec("/bin/sh", "/usr/bin/containerd-shim-runc-v2", pod);
        yield return Some.Exec("/usr/bin/pg_dump", "/bin/sh", pod);
        for (var i = 0; i < connections; i++)
        {
            yield return Some.Connect("52.219.170.36", 443, pod) with { Net = new NetInfo("tcp", "10.244.1.9", 40000 + i, "52.219.170.36", 443, 2_000, bytes / connections) };
        }
    }

    [Fact]
    public void TryExceed_RunFarAboveEveryEarlierRun_RaisedOncePerMetric()
    {
        var h = new RunHistory();
        var t = Some.Time;
        string? last = null;
        for (var n = 0; n < 4; n++)
        {
            foreach (var e in Run(n, 1_200_000))
            {
                last = h.Observe(e, t.AddMinutes(15 * n));
            }

            // Nothing to compare with before three runs have finished.
            Assert.False(h.TryExceed(last!, 3, out _, out _, out _, out _));
        }

        Assert.Equal(3, h.FinishedRuns);

        // A normal fifth run (a little more than usual) passes; a run copying twenty times the usual volume does not.
        foreach (var e in Run(4, 2_000_000))
        {
            last = h.Observe(e, t.AddMinutes(60));
        }

        Assert.False(h.TryExceed(last!, 3, out _, out _, out _, out _));
        foreach (var e in Run(5, 24_000_000))
        {
            last = h.Observe(e, t.AddMinutes(75));
        }

        Assert.True(h.TryExceed(last!, 3, out var metric, out var observed, out var largest, out var median));
        Assert.Equal(("bytes_out", 24_000_000L, 2_000_000L, 1_200_000L), (RunHistory.Metrics[metric], observed, largest, median));
        Assert.False(h.TryExceed(last!, 3, out _, out _, out _, out _)); // once per run and metric (at ten times already)
    }

    [Fact]
    public void Observe_CronJobPods_LearnAcrossRunsThenScoreEachRunAgainstTheEarlierOnes()
    {
        var o = new DetectionOptions { LearningDuration = TimeSpan.FromHours(1), MinLearningEvents = 2000, MinLearningRuns = 3, Models = new Models.ModelOptions { ShadowDuration = TimeSpan.Zero } };
        var t = Some.Time;
        var b = new WorkloadBaseline(o, t);
        var findings = new List<Finding>();
        void Play(IEnumerable<RuntimeEvent> run, DateTimeOffset at)
        {
            foreach (var e in run)
            {
                b.Observe(e, null, at, findings);
            }
        }

        // Three short runs, 15 minutes apart: far less than the hour and the 2000 events a long-running workload needs.
        for (var n = 0; n < 3; n++)
        {
            Play(Run(n, 1_200_000), t.AddMinutes(15 * n));
        }

        Assert.Equal(BaselinePhase.Learning, b.Phase);
        Play(Run(3, 1_200_000), t.AddMinutes(45));
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.Empty(findings);

        // A run copying twenty times the usual volume in four uploads: told when it passes three times the most of any
        // earlier run (medium), and again, as high, when it reaches ten times.
        // (The bucket's own minute is far above what it ever received too: that is the peer-volume finding.)
        Play(Run(4, 24_000_000, connections: 4), t.AddMinutes(60));
        var runs = findings.Where(f => f.Category == "run_anomaly").ToList();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, f => Assert.Equal("run:bytes_out", f.Item.A));
        Assert.Equal([Severity.Medium, Severity.High], runs.Select(f => f.Severity));
        Assert.Contains("5x the most of the last 4 runs", runs[0].Reason, StringComparison.Ordinal);
        Assert.Contains("10x the most of the last 4 runs", runs[1].Reason, StringComparison.Ordinal);
        Assert.Equal("peer_volume", Assert.Single(findings, f => f.Category != "run_anomaly").Category);
    }

}
