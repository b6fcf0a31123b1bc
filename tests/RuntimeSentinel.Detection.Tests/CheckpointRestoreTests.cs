using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class CheckpointRestoreTests
{
    /// <summary>A store in memory, shared by the "processes" of a test.</summary>
    internal sealed class MemoryStore : IWorkloadStateStore
    {
        public ConcurrentDictionary<string, byte[]> Records { get; } = new(StringComparer.Ordinal);

        public int Saves;

        public byte[]? Find(WorkloadKey workload) => Records.TryGetValue(workload.Value, out var b) ? b : null;

        public void Save(WorkloadKey workload, byte[] checkpoint)
        {
            Interlocked.Increment(ref Saves);
            Records[workload.Value] = checkpoint;
        }

        public bool Flush(TimeSpan timeout) => true;
    }

    private sealed class Completions : IOffsetCompletion
    {
        public void Complete(long offset)
        {
        }
    }

    private static (DetectionPipeline Pipeline, RecordingAlerts Alerts, DetectionMetrics Metrics) Start(IWorkloadStateStore store, FakeTimeProvider time, bool holdReceipts = false)
    {
        var options = WorkloadModelTests.Options();
        options.Clock = "event";
        options.LearningDuration = TimeSpan.FromMinutes(20);
        options.MinLearningEvents = 100;
        options.Shards = 2;
        options.Models.ShadowDuration = TimeSpan.Zero;
        var alerts = new RecordingAlerts { Hold = holdReceipts };
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), alerts, metrics, time, NullLogger<DetectionPipeline>.Instance, stateStore: store);
        pipeline.Start();
        return (pipeline, alerts, metrics);
    }

    private static async Task FeedAsync(DetectionPipeline pipeline, IEnumerable<RuntimeEvent> events)
    {
        var resolver = new WorkloadResolver("t");
        var completions = new Completions();
        long offset = 0;
        foreach (var e in events)
        {
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
        }
    }

    [Fact]
    public async Task Restart_WorkloadLearnedBefore_ComesBackActiveWithItsModelAndAlertsAtOnce()
    {
        var store = new MemoryStore();
        var time = new FakeTimeProvider(Some.Time);
        var w = new SyntheticWorkload(41);

        // First process: learns 21 minutes, trains its model, goes active, then stops.
        var (first, _, firstMetrics) = Start(store, time);
        await FeedAsync(first, w.Seconds(Some.Time, 1260));
        await first.CompleteAsync();
        var before = Assert.Single(await first.SnapshotAsync());
        Assert.Equal(BaselinePhase.Active, before.Phase);
        Assert.StartsWith("auto-", before.ModelVersion, StringComparison.Ordinal);
        Assert.Equal(1, firstMetrics.Checkpoints.WithLabels("written").Value);
        var record = Assert.Single(store.Records);
        Assert.Equal(before.Key.Value, record.Key);

        // Second process, same store: the workload's next events are scored, not learned; an attack alerts at once.
        var (second, alerts, metrics) = Start(store, time);
        var later = Some.Time.AddSeconds(1300);
        await FeedAsync(second, w.Seconds(later, 30).Append(Some.Exec("/tmp/.x/kdevtmpfsi", "/bin/sh", w.Workload) with { Timestamp = later.AddSeconds(31) }));
        await second.CompleteAsync();

        var after = Assert.Single(await second.SnapshotAsync());
        Assert.Equal(BaselinePhase.Active, after.Phase);
        Assert.Equal(before.ModelVersion, after.ModelVersion);
        Assert.Equal(before.EventsLearned, after.EventsLearned);
        Assert.Equal(before.FirstSeen, after.FirstSeen);
        Assert.Equal(1, metrics.Restores.WithLabels("restored").Value);
        Assert.Contains(alerts.All, a => a.Category == "unexpected_process" && a.Summary.Contains("kdevtmpfsi", StringComparison.Ordinal));
        Assert.DoesNotContain(alerts.All, a => a.Category == "unexpected_process" && !a.Summary.Contains("kdevtmpfsi", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restart_CheckpointUnreadable_WorkloadLearnsAgainAndTheRefusalIsCounted()
    {
        var store = new MemoryStore();
        var time = new FakeTimeProvider(Some.Time);
        var w = new SyntheticWorkload(42);
        var key = new WorkloadResolver("t").Resolve(w.Seconds(Some.Time, 1).First().Workload).Value;
        store.Records[key] = "RSWC\u0001 not really"u8.ToArray();

        var (pipeline, alerts, metrics) = Start(store, time);
        await FeedAsync(pipeline, w.Seconds(Some.Time, 60));
        await pipeline.CompleteAsync();

        Assert.Equal(BaselinePhase.Learning, Assert.Single(await pipeline.SnapshotAsync()).Phase);
        Assert.Equal(1, metrics.Restores.WithLabels("refused").Value);
        Assert.Empty(alerts.All);

        // The stop replaced the bad record with a good one.
        Assert.Equal(BaselinePhase.Learning, WorkloadCheckpoint.Read(store.Records[key], WorkloadModelTests.Options()).Baseline.Phase);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public async Task Restart_AlertNotSafeAtTheCheckpoint_IsRaisedAgainWhenItsEventIsReplayed(bool safeBeforeStop, int raisedAgain)
    {
        var store = new MemoryStore();
        var time = new FakeTimeProvider(Some.Time);
        var w = new SyntheticWorkload(44);
        var attackAt = Some.Time.AddSeconds(1300);
        var attack = Some.Exec("/usr/bin/nc", "/bin/sh", w.Workload) with { Timestamp = attackAt };

        // The first process raises the alert, then stops (checkpointing) before or after its sinks made it safe.
        var (first, held, _) = Start(store, time, holdReceipts: true);
        await FeedAsync(first, w.Seconds(Some.Time, 1260).Append(attack));
        await first.CompleteAsync();
        var alert = Assert.Single(held.All, a => a.Summary.Contains("/usr/bin/nc", StringComparison.Ordinal));
        if (safeBeforeStop)
        {
            alert.Receipt!.Settle();
            Assert.True(await first.CheckpointAsync(KafkaTestKit.Patience));
        }

        // The next process replays the uncommitted event: an alert nobody received is raised again; one already
        // delivered is cooling down (no duplicate).
        var (second, alerts, _) = Start(store, time);
        await FeedAsync(second, [attack with { Timestamp = attackAt.AddSeconds(1) }]);
        await second.CompleteAsync();
        Assert.Equal(raisedAgain, alerts.All.Count(a => a.Summary.Contains("/usr/bin/nc", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CheckpointAsync_UnchangedWorkloads_AreNotWrittenAgain()
    {
        var store = new MemoryStore();
        var time = new FakeTimeProvider(Some.Time);
        var (pipeline, _, metrics) = Start(store, time);
        var events = new SyntheticWorkload(43).Seconds(Some.Time, 30).ToList();
        await FeedAsync(pipeline, events);

        // A checkpoint command may run between two queued events: wait until every event is in the baseline.
        await KafkaTestKit.EventuallyAsync(() => pipeline.SnapshotAsync().Result.Sum(s => s.EventsLearned + s.EventsScored), n => n == events.Count, KafkaTestKit.Patience, "every event processed");

        // How long a checkpoint may take to be confirmed, not how long it should: generous, so only a failure ends it.
        Assert.True(await pipeline.CheckpointAsync(KafkaTestKit.Patience));
        Assert.True(await pipeline.CheckpointAsync(KafkaTestKit.Patience));
        await pipeline.CompleteAsync();

        Assert.Equal(1, store.Saves);
        Assert.Equal(1, metrics.Checkpoints.WithLabels("written").Value);
    }
}
