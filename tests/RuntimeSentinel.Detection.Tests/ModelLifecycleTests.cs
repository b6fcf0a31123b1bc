using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public sealed class ModelLifecycleTests : IDisposable
{
    private readonly TempFolder _temp = new("lifecycle-");

    public void Dispose() => _temp.Dispose();

    /// <summary>The phase changes the observed events made.</summary>
    private sealed class Phases
    {
        public List<(BaselinePhase From, BaselinePhase To)> Changes { get; } = [];

        public void Add(in BaselineChanges c)
        {
            if (c.PhaseChanged)
            {
                Changes.Add((c.From, c.To));
            }
        }
    }

    private static DetectionOptions Options(TimeSpan shadow) => new()
    {
        LearningDuration = TimeSpan.FromMinutes(5),
        MinLearningEvents = 10,
        Models = new ModelOptions { ShadowDuration = shadow },
    };

    private static RuntimeEvent WithImage(RuntimeEvent e, string digest, DateTimeOffset t) =>
        e with { Timestamp = t, Workload = e.Workload with { ImageDigest = digest } };

    [Fact]
    public void Observe_LearningThenShadowThenActive_InThatOrderWithNoveltyAlertingFromShadow()
    {
        var phases = new Phases();
        var b = new WorkloadBaseline(Options(TimeSpan.FromMinutes(10)), Some.Time);
        var findings = new List<Finding>();
        for (var i = 0; i <= 300; i++)
        {
            phases.Add(b.Observe(WithImage(Some.Syscall("read"), "sha256:a", Some.Time.AddSeconds(i)), null, Some.Time.AddSeconds(i), findings));
        }

        Assert.Equal(BaselinePhase.Shadow, b.Phase);
        phases.Add(b.Observe(WithImage(Some.Syscall("ptrace"), "sha256:a", Some.Time.AddMinutes(6)), null, Some.Time.AddMinutes(6), findings));
        Assert.Single(findings); // item novelty needs no threshold confirmation
        phases.Add(b.Observe(WithImage(Some.Syscall("read"), "sha256:a", Some.Time.AddMinutes(16)), null, Some.Time.AddMinutes(16), findings));
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.Equal([(BaselinePhase.Learning, BaselinePhase.Shadow), (BaselinePhase.Shadow, BaselinePhase.Active)], phases.Changes);
    }

    [Fact]
    public void Observe_NewImageDigestWithRelearningConfigured_GoesStaleRelearnsAndComesBackThroughShadow()
    {
        var phases = new Phases();
        var relearn = Options(TimeSpan.FromMinutes(1));
        relearn.AdaptationPeriod = TimeSpan.Zero;
        var b = new WorkloadBaseline(relearn, Some.Time);
        var findings = new List<Finding>();
        var t = Some.Time;
        for (var i = 0; i <= 420; i++)
        {
            phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/node"), "sha256:a", t.AddSeconds(i)), null, t.AddSeconds(i), findings));
        }

        Assert.Equal(BaselinePhase.Active, b.Phase);
        t = t.AddMinutes(10);

        // The new version runs a new binary: no alert, the workload relearns.
        phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/bun"), "sha256:b", t), null, t, findings));
        Assert.Equal(BaselinePhase.Stale, b.Phase);
        Assert.Equal("sha256:b", b.RelearnedFor);
        Assert.Empty(findings);
        Assert.Equal(0, b.Counter(Feature.Exec).CountOf(new FeatureKey("/usr/bin/node")));

        // Old and new pods side by side during the rollout do not restart learning again.
        for (var i = 1; i <= 301; i++)
        {
            var digest = i % 2 == 0 ? "sha256:a" : "sha256:b";
            phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/bun"), digest, t.AddSeconds(i)), null, t.AddSeconds(i), findings));
        }

        Assert.Equal(BaselinePhase.Shadow, b.Phase);
        Assert.Equal(
            [(BaselinePhase.Learning, BaselinePhase.Shadow), (BaselinePhase.Shadow, BaselinePhase.Active), (BaselinePhase.Active, BaselinePhase.Stale), (BaselinePhase.Stale, BaselinePhase.Shadow)],
            phases.Changes);
    }

    [Fact]
    public void Observe_NewImageDigestWhenActive_AdaptsKeepsItsBaselineAndStillRaisesHighRisk()
    {
        var phases = new Phases();
        var b = new WorkloadBaseline(Options(TimeSpan.FromMinutes(1)), Some.Time);
        var findings = new List<Finding>();
        var t = Some.Time;
        for (var i = 0; i <= 420; i++)
        {
            phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/node"), "sha256:a", t.AddSeconds(i)), null, t.AddSeconds(i), findings));
        }

        Assert.Equal(BaselinePhase.Active, b.Phase);
        t = t.AddMinutes(10);

        // The new version runs a new helper: learned silently while adapting; what was learned stays known.
        phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/bun"), "sha256:b", t), null, t, findings));
        Assert.Equal(BaselinePhase.Active, b.Phase);
        Assert.True(b.IsAdapting(t));
        Assert.Empty(findings);
        Assert.Equal(1, b.AdaptedItems);
        Assert.True(b.Counter(Feature.Exec).CountOf(new FeatureKey("/usr/bin/node")) > 0);
        Assert.True(b.Counter(Feature.Exec).CountOf(new FeatureKey("/usr/bin/bun")) > 0);

        // A shell under the server is high risk: it alerts during adaptation, and says so.
        phases.Add(b.Observe(WithImage(Some.Exec("/bin/sh", "/usr/bin/node"), "sha256:b", t.AddMinutes(1)), null, t.AddMinutes(1), findings));
        var shell = Assert.Single(findings);
        Assert.Equal(Severity.High, shell.Severity);
        Assert.Contains("workload adapting to image sha256:b", shell.Reason, StringComparison.Ordinal);

        // After the adaptation period a new item alerts again as usual.
        findings.Clear();
        var later = t.AddMinutes(20);
        phases.Add(b.Observe(WithImage(Some.Exec("/usr/bin/deno"), "sha256:b", later), null, later, findings));
        Assert.False(b.IsAdapting(later));
        Assert.Single(findings);
        Assert.DoesNotContain(phases.Changes, c => c.To == BaselinePhase.Stale);
    }

    /// <summary>Automatic trainings that ended, whatever their result (the counter is bumped on the shard, after the install).</summary>
    private static double TrainingsEnded(DetectionMetrics metrics) =>
        new[] { "trained", "insufficient_data", "failed", "discarded" }.Sum(r => metrics.ModelsTrained.WithLabels(r).Value);

    private sealed class Completions : IOffsetCompletion
    {
        public long Count;

        public void Complete(long offset) => Interlocked.Increment(ref Count);
    }

    [Fact]
    public async Task TrainInBackground_EndOfLearning_ModelArrivesBetweenEventsAndTrainingMemoryIsReturned()
    {
        var options = WorkloadModelTests.Options();
        options.Clock = "event";
        options.LearningDuration = TimeSpan.FromMinutes(20);
        options.MinLearningEvents = 100;
        options.Models.TrainInBackground = true;
        var alerts = new RecordingAlerts();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), alerts, metrics, new FakeTimeProvider(Some.Time), NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");
        var completions = new Completions();
        long offset = 0;
        foreach (var e in new SyntheticWorkload(21).Seconds(Some.Time, 1500))
        {
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
        }

        // The training's own end, whatever its result: counted once the shard has installed (or refused) what it built.
        await KafkaTestKit.EventuallyAsync(() => TrainingsEnded(metrics), n => n >= 1, KafkaTestKit.Patience, "the background training ended");
        await pipeline.CompleteAsync();

        var snapshot = Assert.Single(await pipeline.SnapshotAsync());
        Assert.StartsWith("auto-", snapshot.ModelVersion, StringComparison.Ordinal); // trained in the background and put in service
        Assert.Equal(offset, completions.Count);
        Assert.Equal(offset, snapshot.EventsLearned + snapshot.EventsScored);
        Assert.Equal(1, metrics.ModelsTrained.WithLabels("trained").Value);

        // What the budget holds is the model in service and its live state, no training data any more.
        Assert.Equal(snapshot.ModelMemoryBytes, pipeline.ModelMemory.Used);
    }

    [Fact]
    public void TakeTraining_RuntimeRelearnsBeforeTheJobEnds_JobIsNoLongerCurrentAndReleasesItsMemoryOnce()
    {
        var budget = new ModelMemoryBudget(64 << 20);
        var options = WorkloadModelTests.Options();
        var runtime = new ModelRuntime("t/shop/Deployment/w/w", options.Models, 1, budget);
        var t = Some.Time;
        foreach (var e in new SyntheticWorkload(5).Seconds(t, 600))
        {
            runtime.Observe(e, known: true, BaselinePhase.Learning, e.Timestamp, []);
        }

        var held = budget.Used;
        Assert.True(held > 0, "learning data is charged to the budget");
        using var job = runtime.TakeTraining(t.AddMinutes(10), "auto-1", "test");
        Assert.True(job.StillCurrent);
        Assert.Equal(held, budget.Used); // handed over, not released yet

        runtime.Reset();
        Assert.False(job.StillCurrent);
        Assert.NotNull(job.Build()); // still trains (off the shard), but would not be installed

        job.Dispose();
        job.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task SwapModel_PromotedWhileEventsFlow_InServiceWithoutDroppingAnEvent()
    {
        // Learn and go active in a running pipeline (event clock), with its own automatically trained model.
        var options = WorkloadModelTests.Options();
        options.Clock = "event";
        options.LearningDuration = TimeSpan.FromMinutes(20);
        options.MinLearningEvents = 100;
        options.Shards = 2;
        options.Models.Directory = _temp.Path;
        var alerts = new RecordingAlerts();
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var time = new FakeTimeProvider(Some.Time);
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), alerts, metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var resolver = new WorkloadResolver("t");
        var completions = new Completions();
        long offset = 0;
        var w = new SyntheticWorkload(21);
        foreach (var e in w.Seconds(Some.Time, 1260))
        {
            await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
        }

        await KafkaTestKit.EventuallyAsync(() => TrainingsEnded(metrics), n => n >= 1, KafkaTestKit.Patience, "the automatic training at the end of learning ended");
        Assert.StartsWith("auto-", Assert.Single(await pipeline.SnapshotAsync()).ModelVersion, StringComparison.Ordinal);

        // A data scientist trains v1 offline, saves and promotes it; the watcher hot-swaps it while events keep coming.
        var (v1, workload) = WorkloadModelTests.Trained(seed: 22, version: "v1");
        var store = new ModelStore(_temp.Path);
        store.Save(v1);
        store.Promote(workload, "v1");
        var watcher = new ModelWatcher(pipeline, Microsoft.Extensions.Options.Options.Create(options), time, metrics, NullLogger<ModelWatcher>.Instance);
        var feeding = Task.Run(async () =>
        {
            foreach (var e in w.Seconds(Some.Time.AddSeconds(1260), 300))
            {
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, Interlocked.Increment(ref offset) - 1, Stopwatch.GetTimestamp()), default);
            }
        });
        Assert.Equal(1, await watcher.ScanAsync());
        await feeding;
        Assert.Equal(0, await watcher.ScanAsync()); // already in service: not swapped again

        // A broken promotion is refused and the version in service stays.
        var (v2, _) = WorkloadModelTests.Trained(seed: 23, version: "v2");
        var v2Path = store.Save(v2);
        store.Promote(workload, "v2");
        var card = Path.Combine(v2Path, WorkloadModel.CardFile);
        File.WriteAllText(card, File.ReadAllText(card).Replace(BehaviourSchema.Fingerprint, "ffffffffffffffff", StringComparison.Ordinal));
        Assert.Equal(0, await watcher.ScanAsync());

        await pipeline.CompleteAsync();
        var snapshot = Assert.Single(await pipeline.SnapshotAsync());
        Assert.Equal("v1", snapshot.ModelVersion);
        Assert.Equal(v1.Card.Thresholds, snapshot.ModelThresholds);
        Assert.Equal(offset, completions.Count);
        Assert.Equal(offset, snapshot.EventsLearned + snapshot.EventsScored);
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("applied").Value);
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("rejected").Value);
        Assert.Equal(1, metrics.ModelsTrained.WithLabels("trained").Value);
        Assert.True(snapshot.ModelWindowsScored > 0);
        Assert.DoesNotContain(alerts.All, a => a.Detectors.Count > 0); // normal behaviour: no model alerts
    }

    [Fact]
    public async Task ScanAsync_PromotedForWorkloadNotOnThisNode_LoadedOnlyWhenItAppearsAndAgainAfterEviction()
    {
        var (v1, workload) = WorkloadModelTests.Trained(seed: 24, version: "v1");
        var store = new ModelStore(_temp.Path);
        store.Save(v1);
        store.Promote(workload, "v1");

        var options = WorkloadModelTests.Options();
        options.Clock = "event";
        options.Shards = 1;
        options.MaxWorkloads = 2;
        options.Models.Directory = _temp.Path;
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var time = new FakeTimeProvider(Some.Time);
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        await using var watcher = new ModelWatcher(pipeline, Microsoft.Extensions.Options.Options.Create(options), time, metrics, NullLogger<ModelWatcher>.Instance);

        // The workload is not on this node: the version is remembered, not loaded or handed to a shard.
        Assert.Equal(1, await watcher.ScanAsync());
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("pending").Value);
        Assert.Equal(0, metrics.ModelSwaps.WithLabels("applied").Value);
        Assert.Empty(await pipeline.SnapshotAsync());

        var resolver = new WorkloadResolver("t");
        var completions = new Completions();
        long offset = 0;
        async Task Feed(IEnumerable<RuntimeEvent> events)
        {
            foreach (var e in events)
            {
                await pipeline.EnqueueAsync(new IngestItem(e, resolver.Resolve(e.Workload), completions, offset++, Stopwatch.GetTimestamp()), default);
            }
        }

        async Task<string?> VersionOf(string key) => (await pipeline.SnapshotAsync()).SingleOrDefault(s => s.Key.Value == key)?.ModelVersion;

        // Its first event loads it.
        var w = new SyntheticWorkload(25);
        await Feed(w.Seconds(Some.Time, 5));
        await KafkaTestKit.EventuallyAsync(() => VersionOf(workload).Result, v => v == "v1", KafkaTestKit.Patience, "promoted model put in service when the workload appeared");
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("applied").Value);

        // Two other workloads evict it; when it comes back, the promoted version is loaded again.
        var later = Some.Time.AddMinutes(1); // eviction takes the workload seen least recently (event clock)
        await Feed([Some.Syscall("read", Some.Workload(owner: "other1", pod: "other1-7d9f8b6c5b-x2k4p")) with { Timestamp = later }, Some.Syscall("read", Some.Workload(owner: "other2", pod: "other2-7d9f8b6c5b-x2k4p")) with { Timestamp = later }]);
        await KafkaTestKit.EventuallyAsync(() => (Evicted: metrics.WorkloadsEvicted.Value, Tracked: pipeline.Tracks(Core.Workloads.WorkloadKey.TryParse(workload, out var k1) ? k1 : throw new InvalidOperationException(workload))), s => s.Evicted >= 1 && !s.Tracked, KafkaTestKit.Patience, "workload evicted");
        await Feed(w.Seconds(later.AddSeconds(1), 5));
        await KafkaTestKit.EventuallyAsync(() => VersionOf(workload).Result, v => v == "v1", KafkaTestKit.Patience, "promoted model back in service after eviction");
        Assert.Equal(2, metrics.ModelSwaps.WithLabels("applied").Value);
        await pipeline.CompleteAsync();
        Assert.Equal(offset, completions.Count);
    }

    [Fact]
    public async Task ApplyFeedbackAsync_DetectorVerdictBeforeAndAfterTheWorkloadAppears_ThresholdRaisedInService()
    {
        var (model, workload) = WorkloadModelTests.Trained(seed: 26);
        var options = WorkloadModelTests.Options();
        options.Shards = 1;
        options.Models.MaxThresholdRaise = 1000;
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var time = new FakeTimeProvider(Some.Time);
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), new RecordingAlerts(), metrics, time, NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();

        // A verdict for a workload not seen yet waits for it (a bounded time); an unknown detector is refused once it can be checked.
        var later = time.GetUtcNow().AddHours(1);
        Assert.Equal(FeedbackResult.Expired, await pipeline.ApplyFeedbackAsync(new FeedbackVerdict("gone/x/Deployment/y/z", default, null, "spike:cpu_cores", 100, PendingUntil: time.GetUtcNow().AddSeconds(-1))));
        Assert.Equal(FeedbackResult.Pending, await pipeline.ApplyFeedbackAsync(new FeedbackVerdict(workload, default, null, "spike:cpu_cores", 100, PendingUntil: later)));
        var e = new SyntheticWorkload(3).Seconds(Some.Time, 1).First();
        await pipeline.EnqueueAsync(new IngestItem(e, new WorkloadResolver("t").Resolve(e.Workload), null, 0, 0), default);
        await KafkaTestKit.EventuallyAsync(() => pipeline.Tracks(Core.Workloads.WorkloadKey.TryParse(workload, out var k2) ? k2 : throw new InvalidOperationException(workload)), KafkaTestKit.Patience, "workload tracked");
        Assert.Equal(FeedbackResult.Applied, await pipeline.SwapModelAsync(model));
        Assert.Equal(FeedbackResult.Applied, await pipeline.ApplyFeedbackAsync(new FeedbackVerdict(workload, default, null, "behaviour_pca", 50)));
        Assert.Equal(FeedbackResult.Rejected, await pipeline.ApplyFeedbackAsync(new FeedbackVerdict(workload, default, null, "spike:colour", 50)));

        var thresholds = Assert.Single(await pipeline.SnapshotAsync()).ModelThresholds!;
        Assert.Equal(100 * ModelRuntime.FeedbackMargin, thresholds["spike:cpu_cores"], 9);
        Assert.Equal(50 * ModelRuntime.FeedbackMargin, thresholds[WorkloadModel.BehaviourDetector], 9);
        Assert.Equal(model.ThresholdOf(WorkloadModel.SequenceDetector), thresholds[WorkloadModel.SequenceDetector]);
        await pipeline.CompleteAsync();
    }
}
