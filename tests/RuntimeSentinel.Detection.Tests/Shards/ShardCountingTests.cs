using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Shards;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests.Shards;

/// <summary>The shard's counting on its own: what each event changed in a workload, as metrics and as what it sets off.</summary>
public class ShardCountingTests
{
    private static readonly WorkloadKey Key = new("t", "shop", "Deployment", "cart", "cart");

    private readonly DetectionMetrics _metrics = new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
    private readonly OwnerRegistry _owners = new(16);
    private readonly DetectionOptions _options = new()
    {
        LearningDuration = TimeSpan.FromMinutes(5),
        MinLearningEvents = 10,
        MaxItemsPerFeature = 3,
        Models = new ModelOptions { Enabled = false },
    };

    private ShardCounting Counting()
    {
        var context = new ShardContext(
            _options, new RecordingAlerts(), _metrics, new FakeTimeProvider(Some.Time), NullLogger.Instance, new AlertRate(),
            new ShardShared(ModelMemoryBudget.Unlimited(), ModelMemoryBudget.Unlimited()), NoWorkloadStateStore.Instance);
        return new ShardCounting(context, _owners, new ShardModels(context, _ => ValueTask.FromResult(true)));
    }

    [Fact]
    public void Count_EventThatEndsLearning_MovesTheWorkloadToActiveAndNotesTheOwnersContainer()
    {
        var counting = Counting();
        var state = WorkloadState.New(Key, _options, Some.Time, null, null);
        _metrics.Workloads.WithLabels("learning").Inc();
        var changed = 0;
        for (var i = 0; i < 12; i++)
        {
            var now = Some.Time.AddMinutes(i);
            var o = state.Observe(Some.Exec("/usr/bin/node", "/usr/bin/tini"), null, null, now, []);
            changed += o.Baseline.PhaseChanged ? 1 : 0;
            counting.Count(Key, state, o, now);
        }

        Assert.Equal(1, changed);
        Assert.Equal((0.0, 1.0), (_metrics.Workloads.WithLabels("learning").Value, _metrics.Workloads.WithLabels("active").Value));
        Assert.Equal(1, _metrics.LearningDuration.Count);
        Assert.Equal("cart", _owners.ActiveContainer(Key));
    }

    [Fact]
    public void Count_NewItemsPastTheCap_LearnedUpToItAndTheRestCountedAsRefused()
    {
        var counting = Counting();
        var state = WorkloadState.New(Key, _options, Some.Time, null, null);
        for (var i = 0; i < 5; i++)
        {
            var o = state.Observe(Some.Dns($"n{i}.example.com."), null, null, Some.Time.AddSeconds(i), []);
            counting.Count(Key, state, o, Some.Time.AddSeconds(i));
        }

        Assert.Equal(3.0, _metrics.ItemsLearned.WithLabels("dns").Value);
        Assert.Equal(2.0, _metrics.CapacityExceeded.WithLabels("dns").Value);
    }
}
