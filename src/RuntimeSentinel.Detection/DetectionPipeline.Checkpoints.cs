using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection;

/// <summary>
/// Checkpoints: each shard writes the workloads whose baseline changed to the state store now and then, when a workload
/// is evicted and when the shard stops; a workload that appears with a checkpoint in the store starts from it instead
/// of learning again. Serialising happens on the shard thread (baselines are not thread-safe); writing is the store's.
/// </summary>
public sealed partial class DetectionPipeline
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(10);

    private readonly IWorkloadStateStore _stateStore;
    private ITimer? _checkpointTimer;

    /// <summary>
    /// Checkpoints every changed workload on every shard and waits until the store has them (before partitions are
    /// given up in a rebalance). False when a shard or the store did not finish within <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> CheckpointAsync(TimeSpan timeout)
    {
        var done = Task.WhenAll(_shards.Select(s => s.CheckpointAsync()));
        if (await Task.WhenAny(done, Task.Delay(timeout, _time)).ConfigureAwait(false) != done)
        {
            return false;
        }

        return _stateStore.Flush(timeout);
    }

    private volatile bool _checkpointsDriven;

    public TimeSpan CheckpointInterval => _options.CheckpointInterval;

    /// <inheritdoc/>
    public void DriveCheckpoints() => _checkpointsDriven = true;

    /// <summary>Events whose alerts are not yet delivered or on disk: their offsets wait (see <see cref="AlertReceipt"/>).</summary>
    public long EventsAwaitingAlerts => _shared.AlertsInFlight;

    private void RequestCheckpoints()
    {
        if (_checkpointsDriven)
        {
            return;
        }

        foreach (var s in _shards)
        {
            _ = s.CheckpointAsync();
        }
    }

    private void FlushCheckpoints()
    {
        if (!_stateStore.Flush(FlushTimeout))
        {
            LogCheckpointFlushTimedOut(_logger, FlushTimeout.TotalSeconds);
        }
    }

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Workload {Workload} restored from its checkpoint of {WrittenAt:o}: {Phase}, {Items} items, model {Model}")]
    private static partial void LogRestored(ILogger logger, string workload, DateTimeOffset writtenAt, string phase, long items, string model);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Workload {Workload}: its checkpoint is refused ({Reason}); it learns again")]
    private static partial void LogRestoreRefused(ILogger logger, string workload, string reason);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Error, Message = "Workload {Workload} could not be checkpointed")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception ex, string workload);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Checkpoints not confirmed by the state store within {Seconds} s")]
    private static partial void LogCheckpointFlushTimedOut(ILogger logger, double seconds);

    private sealed partial class Shard
    {
        private readonly IWorkloadStateStore _stateStore;

        // What each workload's baseline looked like at its last checkpoint: unchanged ones are not written again.
        private readonly Dictionary<WorkloadKey, (DateTimeOffset LastSeen, long Events, BaselinePhase Phase)> _checkpointed = new();

        // Cooldowns set by alerts whose receipts have not settled, per workload (see WorkloadBaseline.WriteState).
        private readonly Dictionary<WorkloadKey, List<(Feature Feature, FeatureKey Item, AlertReceipt Receipt)>> _unsafeCooldowns = new();

        /// <summary>Notes that an alert for this item of the workload is not safe yet (bounded; settled ones are pruned).</summary>
        private void NoteUnsafe(WorkloadKey key, Feature feature, in FeatureKey item, AlertReceipt receipt)
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

        private static (DateTimeOffset, long, BaselinePhase) ChangeMark(WorkloadState state) => (state.Baseline.LastSeen, state.Baseline.EventsLearned + state.Baseline.EventsScored, state.Phase);

        /// <summary>A receipt for an event's alerts: when all are safe, the event's offset completes.</summary>
        private AlertReceipt Receipt(int alerts, IOffsetCompletion completion, long offset)
        {
            _shared.AlertsRaised();
            return new AlertReceipt(alerts, () =>
            {
                completion.Complete(offset);
                _shared.AlertsSafe();
            });
        }

        /// <summary>Checkpoints the changed workloads on the shard thread; completes when they are handed to the store.</summary>
        public Task CheckpointAsync()
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!Post(() =>
            {
                CheckpointChanged();
                tcs.TrySetResult();
            }))
            {
                // Stopped: once the loop has ended no other thread touches the baselines. Checkpointing again then
                // writes what changed since, such as cooldowns whose alerts became safe after the loop ended.
                if (_loop.IsCompleted)
                {
                    CheckpointChanged();
                }

                tcs.TrySetResult();
            }

            return tcs.Task;
        }

        private void CheckpointChanged()
        {
            foreach (var (key, b) in _workloads)
            {
                if (!_checkpointed.TryGetValue(key, out var mark) || mark != ChangeMark(b))
                {
                    Checkpoint(key, b);
                }
            }
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

                _stateStore.Save(key, bytes);

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

        /// <summary>The workload as its last checkpoint left it, or null (none, or refused: it learns again).</summary>
        private WorkloadState? Restore(WorkloadKey key)
        {
            byte[]? data;
            try
            {
                data = _stateStore.Find(key);
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
                if (modelServed is { } served && r.Model is { } model)
                {
                    _metrics.ModelSwaps.WithLabels(served ? "applied" : "rejected").Inc();
                    ReportFit(key.Value, model.Card.Version, state.Models!);
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
    }
}
