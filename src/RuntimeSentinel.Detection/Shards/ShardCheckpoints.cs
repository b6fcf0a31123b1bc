using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// One shard's checkpoints: writes the workloads whose baseline changed to the state store (now and then, when a
/// workload is evicted and when the shard stops), and brings a workload that appears back from its checkpoint instead
/// of letting it learn again. It remembers what each workload looked like at its last checkpoint, so unchanged ones
/// are not written again, and which cooldowns come from alerts not yet safe, so a checkpoint never claims an alert
/// was raised before it is delivered. Runs on the shard thread (baselines are not thread-safe); writing is the store's.
/// </summary>
internal sealed partial class ShardCheckpoints(ShardContext context)
{
    private readonly DetectionOptions _options = context.Options;
    private readonly DetectionMetrics _metrics = context.Metrics;
    private readonly IWorkloadStateStore _store = context.StateStore;
    private readonly ShardShared _shared = context.Shared;
    private readonly TimeProvider _time = context.Time;
    private readonly ILogger _logger = context.Logger;

    // What each workload's baseline looked like at its last checkpoint: unchanged ones are not written again.
    private readonly Dictionary<WorkloadKey, (DateTimeOffset LastSeen, long Events, BaselinePhase Phase)> _checkpointed = new();

    // Cooldowns set by alerts whose receipts have not settled, per workload (see WorkloadBaseline.WriteState).
    private readonly Dictionary<WorkloadKey, List<(Feature Feature, FeatureKey Item, AlertReceipt Receipt)>> _unsafeCooldowns = new();

    /// <summary>Notes that an alert for this item of the workload is not safe yet (bounded; settled ones are pruned).</summary>
    public void NoteUnsafe(WorkloadKey key, Feature feature, in FeatureKey item, AlertReceipt receipt)
    {
        if (!_unsafeCooldowns.TryGetValue(key, out var list))
        {
            _unsafeCooldowns[key] = list = [];
        }

        if (list.Count >= 64)
        {
            list.RemoveAll(x => x.Receipt.Open == 0);
            if (list.Count >= 1024)
            {
                list.RemoveAt(0);
            }
        }

        list.Add((feature, item, receipt));
    }

    /// <summary>Writes every workload that changed since its last checkpoint.</summary>
    public void CheckpointChanged(Dictionary<WorkloadKey, WorkloadState> workloads)
    {
        foreach (var (key, state) in workloads)
        {
            if (!_checkpointed.TryGetValue(key, out var mark) || mark != ChangeMark(state))
            {
                Checkpoint(key, state);
            }
        }
    }

    /// <summary>Writes a workload leaving the shard, so its checkpoint brings it back as it was (here or on another node).</summary>
    public void Evicted(WorkloadKey key, WorkloadState state)
    {
        Checkpoint(key, state);
        _checkpointed.Remove(key);
        _unsafeCooldowns.Remove(key);
    }

    /// <summary>A workload restored from its checkpoint is as written: not written again until it changes.</summary>
    public void Restored(WorkloadKey key, WorkloadState state) => _checkpointed[key] = ChangeMark(state);

    /// <summary>
    /// The workload as its last checkpoint left it, or null (none, or refused: it learns again). <paramref name="model"/>
    /// tells whether the checkpoint's model was put in service (null when it had none).
    /// </summary>
    public WorkloadState? Restore(WorkloadKey key, out (WorkloadModel Model, bool Served)? model)
    {
        model = null;
        byte[]? data;
        try
        {
            data = _store.Find(key);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRestoreRefused(_logger, key.Value, $"store: {ex.Message}");
            _metrics.Restores.WithLabels("refused").Inc();
            return null;
        }

        if (data is null)
        {
            return null;
        }

        try
        {
            var state = WorkloadState.Restore(key, data, _options, _shared.NodeMemory, _shared.ModelMemory, out var r, out var modelServed);
            _metrics.Restores.WithLabels("restored").Inc();
            var items = Enum.GetValues<Feature>().Sum(f => (long)r.Baseline.Counter(f).Count);
            LogRestored(_logger, key.Value, r.WrittenAt, r.Baseline.Phase.ToWire(), items, r.Model?.Card.Version ?? "none");
            if (modelServed is { } served && r.Model is { } m)
            {
                model = (m, served);
            }

            return state;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whatever the bytes are (another version's format, a crafted record), the workload learns again.
            _metrics.Restores.WithLabels("refused").Inc();
            LogRestoreRefused(_logger, key.Value, ex.Message);
            return null;
        }
    }

    private static (DateTimeOffset, long, BaselinePhase) ChangeMark(WorkloadState state) => (state.Baseline.LastSeen, state.Baseline.EventsLearned + state.Baseline.EventsScored, state.Phase);

    private Func<Feature, FeatureKey, bool>? UnsafeCooldowns(WorkloadKey key)
    {
        if (!_unsafeCooldowns.TryGetValue(key, out var list))
        {
            return null;
        }

        list.RemoveAll(x => x.Receipt.Open == 0);
        if (list.Count == 0)
        {
            _unsafeCooldowns.Remove(key);
            return null;
        }

        var open = list.Select(x => (x.Feature, x.Item)).ToHashSet();
        return (f, item) => open.Contains((f, item));
    }

    private void Checkpoint(WorkloadKey key, WorkloadState state)
    {
        try
        {
            var at = _time.GetUtcNow();
            var unsafeCooldowns = UnsafeCooldowns(key);
            var bytes = state.Snapshot(at, unsafeCooldown: unsafeCooldowns);
            var result = "written";
            if (bytes.Length > _options.CheckpointMaxBytes)
            {
                bytes = state.Snapshot(at, includeModel: false, unsafeCooldown: unsafeCooldowns);
                result = "without_model";
                if (bytes.Length > _options.CheckpointMaxBytes)
                {
                    throw new InvalidOperationException($"checkpoint of {bytes.Length} bytes without its model exceeds Detection:CheckpointMaxBytes ({_options.CheckpointMaxBytes})");
                }
            }

            _store.Save(key, bytes);

            // While alerts are unsafe the checkpoint lacks their cooldowns: write it again until they settle.
            _checkpointed[key] = unsafeCooldowns is null ? ChangeMark(state) : default;
            _metrics.Checkpoints.WithLabels(result).Inc();
            _metrics.CheckpointBytes.Inc(bytes.Length);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _metrics.Checkpoints.WithLabels("failed").Inc();
            LogCheckpointFailed(_logger, ex, key.Value);
        }
    }
}
