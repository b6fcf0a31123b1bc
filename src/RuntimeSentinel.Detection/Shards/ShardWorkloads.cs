using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// One shard's workloads and its event path: the shard's event clock, each workload's state (created, restored from a
/// checkpoint, or evicted to make room), its baseline and models observing the event, findings turned into alerts whose
/// receipts hold the event's offset until they are safe, and what the event changed counted. Analysts' verdicts and
/// snapshots read or change the same state, so they run here too. Touched by the shard thread only.
/// </summary>
internal sealed partial class ShardWorkloads
{
    private readonly Dictionary<WorkloadKey, WorkloadState> _workloads = new();
    private readonly Dictionary<string, string> _pathCache = new(StringComparer.Ordinal);
    private readonly List<Finding> _findings = new(4);

    // Verdicts for workloads not here yet, applied when they appear unless they expired first (bounded).
    private readonly List<FeedbackVerdict> _pendingFeedback = [];
    private readonly int _index;
    private readonly int _maxWorkloads;
    private readonly DetectionOptions _options;
    private readonly IAlertPublisher _alerts;
    private readonly DetectionMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AlertRate _rate;
    private readonly ShardShared _shared;
    private readonly Prometheus.Counter.Child _learning;
    private readonly Prometheus.Counter.Child _active;
    private readonly EventWatermark _watermark;
    private readonly OwnerRegistry _owners;
    private readonly ShardModels _models;
    private readonly ShardCheckpoints _checkpoints;
    private readonly ShardCounting _counting;

    // The input's time as of the last clock mark this shard processed (event clock only).
    private DateTimeOffset _lastMark;

    /// <param name="index">The shard's index: the clock it advances in alerting, and its log lines.</param>
    /// <param name="maxWorkloads">Workloads the shard holds before it evicts one.</param>
    public ShardWorkloads(int index, int maxWorkloads, ShardContext context, ShardModels models, ShardCheckpoints checkpoints)
    {
        _index = index;
        _maxWorkloads = maxWorkloads;
        _options = context.Options;
        _alerts = context.Alerts;
        _metrics = context.Metrics;
        _time = context.Time;
        _logger = context.Logger;
        _rate = context.Rate;
        _shared = context.Shared;
        _models = models;
        _checkpoints = checkpoints;
        _watermark = new EventWatermark(_options.EventTimeMaxLead);
        _owners = new OwnerRegistry(maxWorkloads);
        _counting = new ShardCounting(context, _owners, models);
        _learning = _metrics.EventsProcessed.WithLabels("learning");
        _active = _metrics.EventsProcessed.WithLabels("active");
    }

    public int WorkloadCount => _workloads.Count;

    /// <summary>The workload's state, or null when it is not on this shard.</summary>
    public WorkloadState? Find(WorkloadKey key) => _workloads.GetValueOrDefault(key);

    /// <summary>Checkpoints every workload that changed since its last checkpoint.</summary>
    public void CheckpointChanged() => _checkpoints.CheckpointChanged(_workloads);

    public void Process(in IngestItem item)
    {
        if (item.IsClockMark)
        {
            // Everything ingested before the mark is done here: the shard's clock is at least the mark's time, and
            // alerting may judge incidents up to it (its alerts of earlier events are already published).
            var now = _watermark.Advance(item.Event.Timestamp, out var jumped);
            if (jumped)
            {
                RestartLearningClocks(now);
            }

            _lastMark = item.Event.Timestamp > _lastMark ? item.Event.Timestamp : _lastMark;
            _alerts.AdvanceClock(_index, _lastMark);
            return;
        }

        AlertReceipt? receipt = null;
        int raised = 0, published = 0;
        try
        {
            var inventory = item.Event.Labels[EventLabels.Inventory] is not null;
            var now = _options.UseEventTime ? WorkloadClock(item.Event.Timestamp, inventory) : _time.GetUtcNow();
            // One lookup per event in the common case (the workload is known).
            var existed = _workloads.TryGetValue(item.Key, out var state);
            state ??= GetState(item.Key, now, item.Event);
            if (_options.UseEventTime)
            {
                // Each workload's clock goes forward on its own events (and the input's marks): which other workloads
                // share its shard, a matter of hashing and core count, must not move its windows.
                now = now > state.Clock ? now : state.Clock;
                state.Clock = now;
            }

            var baseline = state.Baseline;
            if (item.Event.Workload.Pod is { } pod && !ReferenceEquals(pod, state.LastPod))
            {
                state.LastPod = pod;
                _owners.SeenPod(item.Key, pod);
            }

            if (_options.UseEventTime)
            {
                if (!existed && inventory && _watermark.Now == default)
                {
                    baseline.ProvisionalClock = true;
                }
                else if (!inventory && baseline.ProvisionalClock)
                {
                    baseline.RestartClock(now);
                }
            }

            var e = item.Event;
            var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? NormalizePath(p) : null;
            (baseline.Phase is BaselinePhase.Active or BaselinePhase.Shadow ? _active : _learning).Inc();
            var observed = state.Observe(e, path, item.Peer, now, _findings);
            _counting.Count(item.Key, state, observed, now);

            // The event's offset completes once its alerts are safe (delivered or on disk), not when they are queued.
            raised = _findings.Count;
            receipt = raised > 0 && item.Completion is { } completion ? Receipt(raised, completion, item.Offset) : null;
            if (raised > 0)
            {
                foreach (var f in _findings)
                {
                    _alerts.Publish(AlertFactory.Create(item.Key, e, f, baseline.State(now), now, state.Models, _options.Models.TopFeatures) with { Receipt = receipt });
                    published++;
                    if (receipt is not null && f.Feature is { } feature)
                    {
                        // An item's cooldown is kept out of checkpoints until its alert is safe.
                        _checkpoints.NoteUnsafe(item.Key, feature, f.Item, receipt);
                    }

                    baseline.AlertsRaised++;
                    _rate.Record(_time.GetUtcNow());
                }

                _findings.Clear();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // One poisoned event must not stop the shard; it is logged and still committed (it cannot succeed on retry).
            LogShardError(_logger, ex, _index, item.Key.Value);
            _findings.Clear();
            for (; receipt is not null && published < raised; published++)
            {
                receipt.Settle();
            }
        }

        if (receipt is null)
        {
            item.Completion?.Complete(item.Offset);
        }

        _metrics.Latency.Observe(Stopwatch.GetElapsedTime(item.EnqueuedTimestamp).TotalSeconds);
    }

    /// <summary>Applies an analyst's verdict, or keeps it until the workload appears (bounded, and only until it expires).</summary>
    public FeedbackResult ApplyFeedback(FeedbackVerdict verdict)
    {
        if (verdict.Key is not { } key || !_workloads.TryGetValue(key, out var state))
        {
            var now = _time.GetUtcNow();
            _pendingFeedback.RemoveAll(f => f.PendingUntil <= now);
            if (verdict.PendingUntil <= now)
            {
                return FeedbackResult.Expired;
            }

            if (_pendingFeedback.Count >= 1000)
            {
                _pendingFeedback.RemoveAt(0);
            }

            _pendingFeedback.Add(verdict);
            return FeedbackResult.Pending;
        }

        return verdict.ApplyTo(state) ? FeedbackResult.Applied : FeedbackResult.Rejected;
    }

    /// <summary>A copy of each workload's state.</summary>
    public List<WorkloadSnapshot> Snapshot() =>
        _workloads.Select(kv => Snapshot(kv.Key, kv.Value.Baseline, kv.Value.Models)).ToList();

    private static WorkloadSnapshot Snapshot(WorkloadKey key, WorkloadBaseline b, ModelRuntime? models) => new(
        key, b.Phase, b.FirstSeen, b.ActiveSince, b.EventsLearned, b.EventsScored,
        Enum.GetValues<Feature>().ToDictionary(f => f, f => b.Counter(f).Count))
    {
        AlertsRaised = b.AlertsRaised,
        LastSeen = b.LastSeen,
        ModelVersion = models?.Model?.Card.Version,
        ModelThresholds = models is { Model: { } m } ? m.Card.Thresholds.Keys.ToDictionary(d => d, models.ThresholdOf, StringComparer.Ordinal) : null,
        ModelWindowsScored = models?.WindowsScored ?? 0,
        ModelMemoryBytes = models?.ReservedBytes ?? 0,
        ModelServedWithout = models?.LastFit?.ToWire(),
        Drift = models?.Drift,
    };

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

    /// <summary>
    /// An event's time for its workload: its own timestamp, never before the input's last clock mark (alerts are never
    /// older than what alerting already judged); the shard's trusted time for an inventory record or a far-ahead
    /// timestamp not confirmed yet (see <see cref="EventClock"/>).
    /// </summary>
    private DateTimeOffset WorkloadClock(DateTimeOffset ts, bool inventory)
    {
        var shard = EventClock(ts, inventory);
        var own = inventory || ts > shard ? shard : ts;
        return own > _lastMark ? own : _lastMark;
    }

    /// <summary>
    /// Event time for this shard (<see cref="EventWatermark"/>): never going back, late and inventory events happen
    /// "now", a far-ahead timestamp counts only once the stream confirms it. A confirmed jump (a stream that began
    /// with old events, then went live) restarts the learning clock of every workload still learning here: learning
    /// time counts inside the live window, not across the gap.
    /// </summary>
    private DateTimeOffset EventClock(DateTimeOffset ts, bool inventory)
    {
        var now = _watermark.Observe(ts, inventory, out var jumped);
        if (jumped)
        {
            RestartLearningClocks(now);
        }

        return now;
    }

    private void RestartLearningClocks(DateTimeOffset now)
    {
        foreach (var w in _workloads.Values)
        {
            if (w.Phase is BaselinePhase.Learning or BaselinePhase.Stale)
            {
                w.Baseline.RestartClock(now);
            }
        }

        _metrics.ClockJumps.Inc();
    }

    private WorkloadState GetState(WorkloadKey key, DateTimeOffset now, in RuntimeEvent first)
    {
        if (_workloads.TryGetValue(key, out var state))
        {
            return state;
        }

        if (_workloads.Count >= _maxWorkloads)
        {
            Evict();
        }

        var restored = _checkpoints.Restore(key, out var restoredModel);
        if (restored is not null && restoredModel is { } rm)
        {
            _models.Restored(key, rm.Model, rm.Served, restored.Models!);
        }

        state = restored ?? WorkloadState.New(key, _options, now, _shared.NodeMemory, _shared.ModelMemory);
        if (restored is null)
        {
            // A container name the owner's active workload never had: judged from this, its first event.
            var added = _owners.Classify(key, first.Workload.Pod);
            if (added != AddedContainer.None)
            {
                state.Baseline.MarkAdded(added, first.Workload, _owners.ActiveContainer(key)!);
                LogContainerAdded(_logger, key.Value, added.ToString(), first.Workload.Pod ?? "?", first.Workload.Image ?? "?");
            }
        }
        else if (restored.Phase is BaselinePhase.Active or BaselinePhase.Shadow)
        {
            _owners.Active(key);
        }

        _models.Appeared(key, state);
        _workloads.Add(key, state);
        _shared.Tracked[key] = 0;
        _shared.Appeared?.Invoke(key);
        if (_pendingFeedback.Count > 0)
        {
            var wall = _time.GetUtcNow();
            foreach (var verdict in _pendingFeedback.Where(f => key.Equals(f.Key)).ToList())
            {
                // Wall-clock expiry: a verdict waits for its workload for a bounded time, not for ever.
                if (verdict.PendingUntil > wall)
                {
                    verdict.ApplyTo(state);
                }

                _pendingFeedback.Remove(verdict);
            }
        }

        _metrics.Workloads.WithLabels(state.Phase.ToWire()).Inc();
        if (restored is not null)
        {
            foreach (var f in Enum.GetValues<Feature>())
            {
                _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(state.Baseline.Counter(f).Count);
            }

            _checkpoints.Restored(key, state);
        }

        return state;
    }

    /// <summary>Makes room for a new workload: idle learning workloads go first (they lose minutes of learning, an active one its whole baseline).</summary>
    private void Evict()
    {
        var idle = _workloads.Where(kv => kv.Value.Phase is BaselinePhase.Learning or BaselinePhase.Stale).DefaultIfEmpty().MinBy(kv => kv.Value?.Baseline.LastSeen ?? DateTimeOffset.MaxValue);
        if (idle.Value is null)
        {
            idle = _workloads.MinBy(kv => kv.Value.Baseline.LastSeen);
        }

        // Its checkpoint brings it back as it was when it returns (here or on another node).
        _checkpoints.Evicted(idle.Key, idle.Value);
        _workloads.Remove(idle.Key);
        idle.Value.Release();
        _shared.Tracked.TryRemove(idle.Key, out _);
        _metrics.WorkloadsEvicted.Inc();
        _metrics.Workloads.WithLabels(idle.Value.Phase.ToWire()).Dec();
        foreach (var f in Enum.GetValues<Feature>())
        {
            _metrics.ItemsLearned.WithLabels(f.ToWire()).Dec(idle.Value.Baseline.Counter(f).Count);
        }

        LogEvicted(_logger, idle.Key.Value);
    }

    private string NormalizePath(string raw)
    {
        if (_pathCache.TryGetValue(raw, out var n))
        {
            return n;
        }

        n = PathNormalizer.Normalize(raw);
        if (_pathCache.Count >= 16384)
        {
            _pathCache.Clear();
        }

        _pathCache[raw] = n;
        return n;
    }
}
