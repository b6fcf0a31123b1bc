using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class ModelMemoryBudgetTests
{
    [Fact]
    public void TryReserve_BeyondLimit_RefusedAndNothingTaken()
    {
        var budget = new ModelMemoryBudget(1000);
        Assert.True(budget.TryReserve(600));
        Assert.False(budget.TryReserve(401));
        Assert.Equal(600, budget.Used);
        Assert.True(budget.TryReserve(400));
        budget.Release(1000);
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void TryReserve_ShareOfANodeBudget_MustFitInBothAndReleasesBoth()
    {
        var node = new ModelMemoryBudget(1000);
        var models = new ModelMemoryBudget(600, node);
        Assert.True(node.TryReserve(300)); // baselines' items
        Assert.True(models.TryReserve(600));
        Assert.Equal(900, node.Used);
        Assert.False(models.TryReserve(1)); // its own share is spent
        models.Release(600);
        Assert.True(node.TryReserve(500));
        Assert.False(models.TryReserve(300)); // its share has room, the node has not
        Assert.Equal((0L, 800L), (models.Used, node.Used));
    }

    [Fact]
    public void Release_MoreThanReserved_ThrowsInsteadOfHidingALeak()
    {
        var budget = new ModelMemoryBudget(1000);
        Assert.True(budget.TryReserve(10));
        Assert.Throws<InvalidOperationException>(() => budget.Release(11));
    }

    [Fact]
    public void TryReserve_ManyThreads_NeverAboveLimitAndBackToZero()
    {
        var budget = new ModelMemoryBudget(10_000);
        long peak = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                if (budget.TryReserve(7))
                {
                    var used = budget.Used;
                    InterlockedMax(ref peak, used);
                    budget.Release(7);
                }
            }
        });

        Assert.Equal(0, budget.Used);
        Assert.InRange(peak, 7, 10_000);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var before = Interlocked.CompareExchange(ref target, value, seen);
            if (before == seen)
            {
                return;
            }

            seen = before;
        }
    }

    private static List<Finding> Learn(ModelRuntime runtime, IEnumerable<RuntimeEvent> events)
    {
        var findings = new List<Finding>();
        foreach (var e in events)
        {
            runtime.Observe(e, known: true, BaselinePhase.Learning, e.Timestamp, findings);
        }

        return findings;
    }

    [Fact]
    public void Observe_LearningWithSmallBudget_StopsCollectingAtTheLimitAndCountsIt()
    {
        var budget = new ModelMemoryBudget(128 * 1024);
        var runtime = new ModelRuntime("w", WorkloadModelTests.Options().Models, 1, budget);
        Learn(runtime, new SyntheticWorkload(3).Seconds(Some.Time, 1200));

        Assert.True(budget.Refusals(MemoryRefusal.Training) > 0);
        Assert.InRange(runtime.ReservedBytes, 64 * 1024, budget.Limit);
        Assert.Equal(runtime.ReservedBytes, budget.Used);

        // What was collected still trains something; afterwards the learning data's reservation is given back.
        runtime.Train(Some.Time.AddSeconds(1200), "v1", "test");
        Assert.Equal(runtime.ReservedBytes, budget.Used);
        Assert.True(budget.Used < 128 * 1024);
    }

    [Fact]
    public void Observe_LearningWithAmpleBudget_CollectsEverythingAndReleasesWhenTrained()
    {
        var budget = new ModelMemoryBudget(64L << 20);
        var runtime = new ModelRuntime("w", WorkloadModelTests.Options().Models, 1, budget);
        Learn(runtime, new SyntheticWorkload(3).Seconds(Some.Time, 1200));
        Assert.Equal(0, budget.Refusals(MemoryRefusal.Training));
        var learning = budget.Used;

        var model = runtime.Train(Some.Time.AddSeconds(1200), "v1", "test");
        Assert.NotNull(model);
        Assert.Null(runtime.LastFit);
        Assert.Equal(budget.Used, runtime.ReservedBytes);
        Assert.True(budget.Used >= model.EstimatedBytes, $"{budget.Used} reserved for a model of {model.EstimatedBytes}");
        Assert.NotEqual(learning, budget.Used);

        runtime.Release();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void Train_BudgetHoldsLearningDataOrModelButNotBoth_ModelServedWhole()
    {
        var ample = new ModelMemoryBudget(64L << 20);
        var first = new ModelRuntime("w", WorkloadModelTests.Options().Models, 1, ample);
        Learn(first, new SyntheticWorkload(3).Seconds(Some.Time, 1200));
        var learning = ample.Used;
        first.Train(Some.Time.AddSeconds(1200), "v1", "test");
        var serving = ample.Used;

        var tight = new ModelMemoryBudget(Math.Max(learning, serving) + 1024);
        Assert.True(learning + serving > tight.Limit);
        var runtime = new ModelRuntime("w", WorkloadModelTests.Options().Models, 1, tight);
        Learn(runtime, new SyntheticWorkload(3).Seconds(Some.Time, 1200));
        Assert.NotNull(runtime.Train(Some.Time.AddSeconds(1200), "v1", "test"));
        Assert.Null(runtime.LastFit); // learning data was given back before the model reserved its memory
        Assert.Equal(0, tight.Refusals(MemoryRefusal.Training));
    }

    [Fact]
    public void Swap_BudgetTooSmallForSequenceTables_ServesTheRestAndSaysWhatWasCut()
    {
        var (model, workload) = WorkloadModelTests.Trained();
        Assert.NotNull(model.Sequences);
        Assert.NotEmpty(model.Sequences.Executables);
        var withoutSequences = model.WithSequences(null).EstimatedBytes;
        var workloadOnly = model.WithSequences(model.Sequences.WithoutExecutables()).EstimatedBytes;
        Assert.True(workloadOnly < model.EstimatedBytes);

        // Room for everything but the per-executable tables.
        var budget = new ModelMemoryBudget(ModelRuntime.LiveBaseBytes + ((workloadOnly + model.EstimatedBytes) / 2));
        var runtime = new ModelRuntime(workload, WorkloadModelTests.Options().Models, 1, budget);
        Assert.True(runtime.Swap(model));
        Assert.Equal(MemoryRefusal.ExecutableSequences, runtime.LastFit);
        Assert.Empty(runtime.Model!.Sequences!.Executables);
        Assert.NotNull(runtime.Model.Behaviour);

        // Room for the behaviour model and spikes only.
        budget = new ModelMemoryBudget(ModelRuntime.LiveBaseBytes + ((withoutSequences + workloadOnly) / 2));
        runtime = new ModelRuntime(workload, WorkloadModelTests.Options().Models, 1, budget);
        Assert.True(runtime.Swap(model));
        Assert.Equal(MemoryRefusal.Sequences, runtime.LastFit);
        Assert.Null(runtime.Model!.Sequences);
        Assert.Equal(1, budget.Refusals(MemoryRefusal.Sequences));

        // No room at all: nothing in service, and nothing left reserved.
        budget = new ModelMemoryBudget(1024);
        runtime = new ModelRuntime(workload, WorkloadModelTests.Options().Models, 1, budget);
        Assert.False(runtime.Swap(model));
        Assert.Null(runtime.Model);
        Assert.Equal(MemoryRefusal.Model, runtime.LastFit);
        Assert.Equal(0, budget.Used);
    }

    /// <summary>A runtime with the synthetic workload's trained model in service, under a 64 MiB budget.</summary>
    private static (ModelRuntime Runtime, ModelMemoryBudget Budget, WorkloadModel Model) Served()
    {
        var (model, workload) = WorkloadModelTests.Trained();
        var budget = new ModelMemoryBudget(64L << 20);
        var runtime = new ModelRuntime(workload, WorkloadModelTests.Options().Models, 1, budget);
        Assert.True(runtime.Swap(model));
        return (runtime, budget, model);
    }

    [Fact]
    public void Swap_ReplacingAModel_ReservesTheNewOneInsteadOfAddingIt()
    {
        var (runtime, budget, model) = Served();
        var once = budget.Used;
        runtime.Swap(model);
        runtime.Swap(model);
        Assert.Equal(once, budget.Used);
    }

    [Fact]
    public void Observe_ManyShortLivedProcesses_StreamsReleasedOnExit()
    {
        var (runtime, budget, model) = Served();
        var served = budget.Used;
        var w = new SyntheticWorkload(4);
        var t = Some.Time.AddHours(1);
        var findings = new List<Finding>();
        for (var pid = 10_000; pid < 15_000; pid++)
        {
            foreach (var call in new[] { "openat", "read", "close" })
            {
                runtime.Observe(w.At(w.Syscall(call, pid, "/usr/bin/node"), t), known: true, BaselinePhase.Active, t, findings);
            }

            var exit = w.At(w.Syscall("exit_group", pid, "/usr/bin/node"), t) with { Kind = EventKind.ProcessExit, SyscallName = null };
            runtime.Observe(exit, known: true, BaselinePhase.Active, t, findings);
        }

        Assert.Equal(served, budget.Used);
    }

    [Fact]
    public void Observe_BudgetSpentWhenProcessesStart_ProcessStreamsRefusedAndCounted()
    {
        var (runtime, budget, model) = Served();
        Assert.True(budget.TryReserve(budget.Limit - budget.Used)); // another workload took the rest
        var w = new SyntheticWorkload(4);
        var t = Some.Time.AddHours(1);
        runtime.Observe(w.At(w.Syscall("openat", 4242, "/usr/bin/node"), t), known: true, BaselinePhase.Active, t, []);
        Assert.Equal(1, budget.Refusals(MemoryRefusal.ProcessStreams));
    }

    [Fact]
    public async Task SwapModelAsync_BudgetSpentByOthers_RejectedAndCountedNotApplied()
    {
        var (model, workload) = WorkloadModelTests.Trained();
        var options = WorkloadModelTests.Options();
        options.Shards = 1;
        var metrics = new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(options), new RecordingAlerts(), metrics, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Some.Time), Microsoft.Extensions.Logging.Abstractions.NullLogger<DetectionPipeline>.Instance);
        pipeline.Start();
        var e = new SyntheticWorkload(3).Seconds(Some.Time, 1).First();
        await pipeline.EnqueueAsync(new IngestItem(e, new Core.Workloads.WorkloadResolver("t").Resolve(e.Workload), null, 0, 0), default);
        await KafkaTestKit.EventuallyAsync(() => pipeline.Tracks(Core.Workloads.WorkloadKey.TryParse(workload, out var k2) ? k2 : throw new InvalidOperationException(workload)), KafkaTestKit.Patience, "workload tracked");

        Assert.True(pipeline.ModelMemory.TryReserve(pipeline.ModelMemory.Limit - pipeline.ModelMemory.Used));
        Assert.Equal(FeedbackResult.Rejected, await pipeline.SwapModelAsync(model));
        Assert.Equal(1, metrics.ModelSwaps.WithLabels("rejected").Value);
        Assert.Equal(0, metrics.ModelSwaps.WithLabels("applied").Value);
        await pipeline.PublishWorkloadMetricsAsync();
        Assert.Equal(1, metrics.ModelMemoryRefusals.WithLabels("model").Value);
        await pipeline.CompleteAsync();
    }
}
