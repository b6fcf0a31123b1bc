using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Shards;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests.Shards;

public class ShardCheckpointsTests
{
    private static readonly WorkloadKey Key = new("t", "shop", "Deployment", "cart", "cart");

    private readonly FakeTimeProvider _time = new(Some.Time);
    private readonly CheckpointRestoreTests.MemoryStore _store = new();
    private readonly DetectionMetrics _metrics = new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
    private readonly DetectionOptions _options = WorkloadModelTests.Options();

    private ShardContext Context() => new(
        _options, new RecordingAlerts(), _metrics, _time, NullLogger.Instance, new AlertRate(),
        new ShardShared(ModelMemoryBudget.Unlimited(), ModelMemoryBudget.Unlimited()), _store);

    /// <summary>A workload that has seen <paramref name="events"/> events, one a second from the start.</summary>
    private Dictionary<WorkloadKey, WorkloadState> Workload(int events)
    {
        var state = WorkloadState.New(Key, _options, Some.Time, null, null);
        Observe(state, events);
        return new() { [Key] = state };
    }

    private static void Observe(WorkloadState state, int events)
    {
        var start = state.Baseline.LastSeen == default ? Some.Time : state.Baseline.LastSeen;
        for (var i = 1; i <= events; i++)
        {
            state.Observe(Some.Exec("/usr/bin/node") with { Timestamp = start.AddSeconds(i) }, null, null, start.AddSeconds(i), []);
        }
    }

    [Fact]
    public void CheckpointChanged_UnchangedSinceTheLastWrite_NotWrittenAgainUntilItChanges()
    {
        var checkpoints = new ShardCheckpoints(Context());
        var workloads = Workload(3);

        checkpoints.CheckpointChanged(workloads);
        checkpoints.CheckpointChanged(workloads);
        Assert.Equal(1, _store.Saves);

        Observe(workloads[Key], 1);
        checkpoints.CheckpointChanged(workloads);
        Assert.Equal(2, _store.Saves);
        Assert.Equal(2, _metrics.Checkpoints.WithLabels("written").Value);
    }

    [Fact]
    public void CheckpointChanged_AlertNotSafeYet_WrittenAgainUntilItSettles()
    {
        var checkpoints = new ShardCheckpoints(Context());
        var workloads = Workload(3);
        var receipt = new AlertReceipt(1, () => { });
        checkpoints.NoteUnsafe(Key, Feature.Exec, new FeatureKey("/usr/bin/node"), receipt);

        checkpoints.CheckpointChanged(workloads);
        checkpoints.CheckpointChanged(workloads);
        Assert.Equal(2, _store.Saves);

        // Settled: written once more (now with the cooldown), then left alone.
        receipt.Settle();
        checkpoints.CheckpointChanged(workloads);
        checkpoints.CheckpointChanged(workloads);
        Assert.Equal(3, _store.Saves);
    }

    [Fact]
    public void Evicted_Workload_WrittenAndItsMarkForgotten()
    {
        var checkpoints = new ShardCheckpoints(Context());
        var workloads = Workload(3);
        checkpoints.CheckpointChanged(workloads);

        checkpoints.Evicted(Key, workloads[Key]);
        Assert.Equal(2, _store.Saves);

        // Back on the shard without a mark (as if it returned without a restore): written at the next round.
        checkpoints.CheckpointChanged(workloads);
        Assert.Equal(3, _store.Saves);
    }

    [Fact]
    public void Restore_Checkpointed_ComesBackAsWrittenAndIsNotWrittenAgainUntilItChanges()
    {
        var first = new ShardCheckpoints(Context());
        var workloads = Workload(5);
        first.CheckpointChanged(workloads);

        var second = new ShardCheckpoints(Context());
        var restored = second.Restore(Key, out var model);

        Assert.NotNull(restored);
        Assert.Null(model);
        Assert.Equal(workloads[Key].Baseline.EventsLearned, restored.Baseline.EventsLearned);
        Assert.Equal(workloads[Key].Baseline.LastSeen, restored.Baseline.LastSeen);
        Assert.Equal(1, _metrics.Restores.WithLabels("restored").Value);
        second.Restored(Key, restored);
        second.CheckpointChanged(new() { [Key] = restored });
        Assert.Equal(1, _store.Saves);
    }

    [Fact]
    public void Restore_NoCheckpoint_ReturnsNullAndCountsNothing()
    {
        var checkpoints = new ShardCheckpoints(Context());

        Assert.Null(checkpoints.Restore(Key, out _));
        Assert.Equal(0, _metrics.Restores.WithLabels("refused").Value);
    }

    [Fact]
    public void Restore_UnreadableCheckpoint_RefusedAndCounted()
    {
        _store.Records[Key.Value] = [1, 2, 3, 4];
        var checkpoints = new ShardCheckpoints(Context());

        Assert.Null(checkpoints.Restore(Key, out _));
        Assert.Equal(1, _metrics.Restores.WithLabels("refused").Value);
    }
}
