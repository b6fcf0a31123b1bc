using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class DetectionPipelineTests
{
    private sealed class Completions : IOffsetCompletion
    {
        public List<long> Offsets { get; } = [];

        public void Complete(long offset)
        {
            lock (Offsets)
            {
                Offsets.Add(offset);
            }
        }
    }

    private static (DetectionPipeline Pipeline, RecordingAlerts Alerts, DetectionMetrics Metrics) Create(FakeTimeProvider time, int shards = 3, int minEvents = 5)
    {
        var alerts = new RecordingAlerts();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { Shards = shards, LearningDuration = TimeSpan.FromMinutes(1), MinLearningEvents = minEvents, ShardQueueCapacity = 8, Models = new Models.ModelOptions { ShadowDuration = TimeSpan.Zero } });
        var pipeline = new DetectionPipeline(options, alerts, metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        return (pipeline, alerts, metrics);
    }

    [Fact]
    public async Task EnqueueAsync_WorkloadsEvicted_TheirModelMemoryIsGivenBack()
    {
        var time = new FakeTimeProvider(Some.Time);
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { Shards = 1, MaxWorkloads = 2, LearningDuration = TimeSpan.FromMinutes(1), MinLearningEvents = 5, ShardQueueCapacity = 8 });
        var pipeline = new DetectionPipeline(options, new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var completions = new Completions();
        var resolver = new WorkloadResolver("t");
        long offset = 0;
        for (var w = 0; w < 6; w++)
        {
            var wl = Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
            for (var i = 0; i < 20; i++)
            {
                var e = Some.Syscall("read", wl) with { Process = new ProcessInfo(100 + i, 1, 0, "/bin/app", null, null) };
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
            }
        }

        await pipeline.CompleteAsync();
        await pipeline.PublishWorkloadMetricsAsync();

        // Each learning workload holds one 64 KiB chunk of learning data; four of the six were evicted.
        Assert.Equal(4, metrics.WorkloadsEvicted.Value);
        Assert.Equal(2 * 64 * 1024, pipeline.ModelMemory.Used);
        Assert.Equal(pipeline.ModelMemory.Used, metrics.ModelMemory.Value);
        Assert.Equal(256L << 20, metrics.ModelMemoryBudget.Value);
    }

    [Fact]
    public async Task EnqueueAsync_FloodOfUniqueItemsAndWorkloads_NodeBudgetHoldsAndEvictionGivesMemoryBack()
    {
        var time = new FakeTimeProvider(Some.Time);
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions
        {
            Shards = 2,
            MaxWorkloads = 200,
            MemoryBudgetMiB = 16,
            LearningDuration = TimeSpan.FromHours(1),
            MinLearningEvents = 1_000_000,
            Models = new Models.ModelOptions { Enabled = false, MemoryBudgetMiB = 8 },
        });
        var pipeline = new DetectionPipeline(options, new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var completions = new Completions();
        var resolver = new WorkloadResolver("t");
        long offset = 0;

        // An attacker's flood: 150,000 unique paths in 50 workloads (22 MB of items), then 1,000 new workloads.
        for (var i = 0; i < 150_000; i++)
        {
            var wl = Some.Workload(owner: "svc" + (i % 50), pod: $"svc{i % 50}-7d9f8b6c5b-x2k4p");
            var e = Some.FileOpen($"/var/lib/app/{Letters(i)}/settings-{Letters(i * 7)}.conf", workload: wl);
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
        }

        await KafkaTestKit.EventuallyAsync(() => { lock (completions.Offsets) { return completions.Offsets.Count; } }, n => n == offset, KafkaTestKit.Patience, "flood processed");
        var afterPaths = pipeline.NodeMemory.Used;
        Assert.InRange(afterPaths, (16L << 20) - 1024, 16L << 20); // spent, never over
        Assert.True(pipeline.NodeMemory.Refusals(Models.MemoryRefusal.BaselineItems) > 0);

        time.Advance(TimeSpan.FromMinutes(5)); // the flooded workloads go quiet
        for (var w = 0; w < 1_000; w++)
        {
            var wl = Some.Workload(owner: "flood" + w, pod: $"flood{w}-7d9f8b6c5b-x2k4p");
            var e = Some.Syscall("read", wl);
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
        }

        await pipeline.CompleteAsync();
        await pipeline.PublishWorkloadMetricsAsync();

        // The 50 path-flooded workloads were evicted (idle, learning) and gave their memory back.
        Assert.True(pipeline.NodeMemory.Used < 1L << 20, $"{pipeline.NodeMemory.Used} bytes still reserved");
        Assert.Equal(pipeline.NodeMemory.Used, metrics.MemoryUsed.Value);
        Assert.Equal(16L << 20, metrics.MemoryBudget.Value);
        Assert.True(metrics.ModelMemoryRefusals.WithLabels("baseline_items").Value > 0);
    }

    /// <summary>A name of letters only (the path normaliser folds digits and hex into wildcards).</summary>
    private static string Letters(int n)
    {
        var sb = new System.Text.StringBuilder("n");
        for (var i = 0; i < 6; i++, n /= 26)
        {
            sb.Append((char)('a' + (n % 26)));
        }

        return sb.ToString();
    }

    [Fact]
    public async Task EnqueueAsync_MaxWorkloadsReached_IdleLearningWorkloadEvictedBeforeAnIdlerActiveOne()
    {
        var time = new FakeTimeProvider(Some.Time);
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { Shards = 1, MaxWorkloads = 2, LearningDuration = TimeSpan.Zero, MinLearningEvents = 10, Models = new Models.ModelOptions { Enabled = false } });
        var pipeline = new DetectionPipeline(options, new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var completions = new Completions();
        var resolver = new WorkloadResolver("t");
        long offset = 0;
        async Task Feed(string owner, int events)
        {
            for (var i = 0; i < events; i++)
            {
                var e = Some.Syscall("read", Some.Workload(owner: owner, pod: owner + "-7d9f8b6c5b-x2k4p"));
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
            }
        }

        await Feed("active", 20);   // learned, then idle the longest
        time.Advance(TimeSpan.FromMinutes(1));
        await Feed("learning", 3);  // still learning
        time.Advance(TimeSpan.FromMinutes(1));
        await Feed("newcomer", 1);
        await pipeline.CompleteAsync();

        var left = (await pipeline.SnapshotAsync()).Select(s => s.Key.OwnerName).Order().ToList();
        Assert.Equal(["active", "newcomer"], left);
    }

    [Fact]
    public async Task EnqueueAsync_EventRaisesAlerts_ItsOffsetCompletesOnlyWhenTheyAreSafe()
    {
        var time = new FakeTimeProvider(Some.Time);
        var alerts = new RecordingAlerts { Hold = true };
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var options = Options.Create(new DetectionOptions { Shards = 1, LearningDuration = TimeSpan.Zero, MinLearningEvents = 5, Models = new Models.ModelOptions { Enabled = false } });
        var pipeline = new DetectionPipeline(options, alerts, metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var completions = new Completions();
        var resolver = new WorkloadResolver("t");
        var events = Enumerable.Range(0, 6).Select(_ => Some.Exec("/usr/bin/node", "/usr/bin/tini"))
            .Append(Some.Exec("/bin/sh", "/usr/bin/node")) // offset 6: alerts
            .Append(Some.Exec("/usr/bin/node", "/usr/bin/tini")) // offset 7: nothing to say
            .ToList();
        for (var i = 0; i < events.Count; i++)
        {
            await pipeline.EnqueueAsync(new IngestItem(events[i], resolver.Resolve(events[i].Workload), completions, i, Stopwatch.GetTimestamp()), default);
        }

        await pipeline.CompleteAsync();

        // Queued with the dispatcher is not safe: the alerting event's offset waits, the others do not.
        var alert = Assert.Single(alerts.All);
        Assert.Equal([0, 1, 2, 3, 4, 5, 7], completions.Offsets.Order());
        Assert.Equal(1, pipeline.EventsAwaitingAlerts);

        alert.Receipt!.Settle();
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], completions.Offsets.Order());
        Assert.Equal(0, pipeline.EventsAwaitingAlerts);
    }

    [Fact]
    public async Task EnqueueAsync_ManyWorkloads_CompletesEveryOffsetAndAlertsOnlyAfterLearning()
    {
        var time = new FakeTimeProvider(Some.Time);
        var (pipeline, alerts, metrics) = Create(time);
        var completions = new Completions();
        var resolver = new WorkloadResolver("t");
        long offset = 0;
        for (var w = 0; w < 10; w++)
        {
            var wl = Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
            for (var i = 0; i < 20; i++)
            {
                var e = Some.Syscall("read", wl);
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
            }
        }

        // Learning ends when both the duration and the event count are reached; let the shards drain first.
        await KafkaTestKit.EventuallyAsync(() => { lock (completions.Offsets) { return completions.Offsets.Count; } }, n => n == 200, KafkaTestKit.Patience, "all learning events processed");
        time.Advance(TimeSpan.FromMinutes(2));
        for (var w = 0; w < 10; w++)
        {
            var wl = Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");
            var known = Some.Syscall("read", wl);
            await pipeline.EnqueueAsync(new IngestItem(known, resolver.Resolve(wl), completions, offset++, Stopwatch.GetTimestamp()), default);
            var novel = Some.Syscall("ptrace", wl, "attack:test");
            await pipeline.EnqueueAsync(new IngestItem(novel, resolver.Resolve(wl), completions, offset++, Stopwatch.GetTimestamp()), default);
        }

        await pipeline.CompleteAsync();
        Assert.Equal(Enumerable.Range(0, (int)offset).Select(i => (long)i), completions.Offsets.Order());
        Assert.Equal(10, alerts.All.Count);
        Assert.All(alerts.All, a =>
        {
            Assert.Equal("unexpected_syscall", a.Category);
            Assert.Equal("attack:test", a.Evidence[0].Labels["scenario"]);
            Assert.Equal(BaselinePhase.Active, a.Baseline.Phase);
            Assert.Equal(21, a.Baseline.EventsLearned); // the event that completes learning is learned too
        });
        Assert.Equal(10, metrics.Workloads.WithLabels("active").Value);
        Assert.Equal(0, metrics.Workloads.WithLabels("learning").Value);
        Assert.Equal(offset, metrics.Latency.Count);
    }

    [Fact]
    public async Task SnapshotAsync_WhileIdle_ReportsEachWorkload()
    {
        var time = new FakeTimeProvider(Some.Time);
        var (pipeline, _, _) = Create(time, shards: 2);
        var resolver = new WorkloadResolver("t");
        var e = Some.Exec("/bin/true");
        await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), null, 0, Stopwatch.GetTimestamp()), default);
        await KafkaTestKit.EventuallyAsync(() => pipeline.SnapshotAsync().Result.Count, n => n == 1, KafkaTestKit.Patience, "snapshot shows the workload");
        var s = Assert.Single(await pipeline.SnapshotAsync());
        Assert.Equal(BaselinePhase.Learning, s.Phase);
        Assert.Equal(1, s.DistinctItems[Baseline.Feature.Exec]);
        await pipeline.CompleteAsync();
    }

    [Fact]
    public async Task EnqueueAsync_EventClockStreamStartingDaysOld_LearnsForTheConfiguredTimeInTheLiveWindow()
    {
        // A sensor export that begins with a day-old backlog (and an inventory stamped days ago), then goes live.
        var alerts = new RecordingAlerts();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var options = Options.Create(new DetectionOptions { Shards = 1, Clock = "event", LearningDuration = TimeSpan.FromMinutes(30), MinLearningEvents = 10, Models = new Models.ModelOptions { Enabled = false } });
        var pipeline = new DetectionPipeline(options, alerts, metrics, new FakeTimeProvider(Some.Time), NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");
        var live = Some.Time;
        async Task Send(RuntimeEvent e) => await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), null, 0, Stopwatch.GetTimestamp()), default);

        await Send(Some.Exec("/usr/sbin/nginx", "/usr/bin/containerd-shim-runc-v2") with { Timestamp = live.AddDays(-5), Labels = LabelSet.Of((EventLabels.Inventory, "procfs")) });
        for (var i = 0; i < 50; i++)
        {
            await Send(Some.Exec("/usr/sbin/nginx", "/usr/bin/containerd-shim-runc-v2") with { Timestamp = live.AddDays(-1).AddSeconds(i) });
        }

        // Twenty live minutes: far beyond the backlog's age in total, but still inside the 30 learning minutes.
        for (var i = 0; i < 20 * 6; i++)
        {
            await Send(Some.Exec("/usr/sbin/nginx", "/usr/bin/containerd-shim-runc-v2") with { Timestamp = live.AddSeconds(10 * i) });
        }

        await KafkaTestKit.EventuallyAsync(() => pipeline.SnapshotAsync().Result.SingleOrDefault()?.EventsLearned, n => n == 171, KafkaTestKit.Patience, "all events processed");
        Assert.Equal(BaselinePhase.Learning, (await pipeline.SnapshotAsync()).Single().Phase);
        using var scrape = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(scrape);
        Assert.Equal(1, Exposition.Sum(System.Text.Encoding.UTF8.GetString(scrape.ToArray()), "sentinel_event_clock_jumps_total"));

        // Ten more live minutes complete the thirty (counted from the third live event, which confirmed the jump).
        for (var i = 0; i <= (10 * 6) + 2; i++)
        {
            await Send(Some.Exec("/usr/sbin/nginx", "/usr/bin/containerd-shim-runc-v2") with { Timestamp = live.AddMinutes(20).AddSeconds(10 * i) });
        }

        await KafkaTestKit.EventuallyAsync(() => pipeline.SnapshotAsync().Result.SingleOrDefault()?.Phase, p => p == BaselinePhase.Active, KafkaTestKit.Patience, "active after 30 live minutes");
        await pipeline.CompleteAsync();
    }

    [Fact]
    public async Task EnqueueAsync_AfterComplete_ReturnsFalse()
    {
        var (pipeline, _, _) = Create(new FakeTimeProvider(Some.Time), shards: 1);
        await pipeline.CompleteAsync();
        var e = Some.Exec("/bin/true");
        Assert.False(await pipeline.EnqueueAsync(new IngestItem(e, new WorkloadResolver().Resolve(e.Workload), null, 0, 0), default));
    }

    [Fact]
    public async Task PublishWorkloadMetricsAsync_MoreWorkloadsThanCap_ExportsCapAndCountsOverflow()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(registry));
        var time = new FakeTimeProvider(Some.Time);
        var options = Options.Create(new DetectionOptions { Shards = 2, MaxWorkloadSeries = 3, LearningDuration = TimeSpan.Zero, MinLearningEvents = 1 });
        var pipeline = new DetectionPipeline(options, new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");
        for (var w = 0; w < 10; w++)
        {
            var e = Some.Syscall("read", Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p"));
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), null, w, Stopwatch.GetTimestamp()), default);
        }

        await KafkaTestKit.EventuallyAsync(() => pipeline.SnapshotAsync().Result.Count, n => n == 10, KafkaTestKit.Patience, "10 workloads");
        await pipeline.PublishWorkloadMetricsAsync();
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Equal(3, text.Split('\n').Count(l => l.StartsWith("sentinel_workload_events_total{", StringComparison.Ordinal)));
        Assert.Contains("sentinel_workload_series_overflow 7", text, StringComparison.Ordinal);
        Assert.Contains("sentinel_workload_series_limit 3", text, StringComparison.Ordinal);
        Assert.Contains("sentinel_alerts_per_workload_day_target 1", text, StringComparison.Ordinal);
        await pipeline.DisposeAsync();
    }

    [Fact]
    public void AlertRate_CountSince_CountsOnlyTheWindow()
    {
        var rate = new AlertRate();
        rate.Record(Some.Time);
        rate.Record(Some.Time.AddMinutes(30));
        rate.Record(Some.Time.AddMinutes(30));
        Assert.Equal(3, rate.CountSince(Some.Time.AddMinutes(-1), Some.Time.AddHours(1)));
        Assert.Equal(2, rate.CountSince(Some.Time.AddMinutes(10), Some.Time.AddHours(1)));
        rate.Record(Some.Time.AddDays(1)); // same slot a day later restarts it
        Assert.Equal(1, rate.CountSince(Some.Time.AddHours(23), Some.Time.AddDays(1)));
    }
}
