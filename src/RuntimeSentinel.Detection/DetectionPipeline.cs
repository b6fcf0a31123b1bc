using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection;

/// <summary>
/// Routes events to single-reader shards by workload key, so each workload's baseline is touched by one thread
/// and its events stay in order. Ingestion blocks when a shard queue is full (backpressure reaches the Kafka
/// consumer instead of dropping). After an event is processed its offset is reported complete.
/// </summary>
public sealed partial class DetectionPipeline : IDetectionIngress, IAsyncDisposable
{
    private readonly Shard[] _shards;
    private readonly ILogger<DetectionPipeline> _logger;
    private readonly AlertRate _rate = new();
    private readonly DetectionOptions _options;
    private readonly DetectionMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly ModelMemoryBudget _modelMemory;
    private readonly ModelMemoryBudget _nodeMemory;
    private readonly ShardShared _shared;
    private ITimer? _metricsTimer;
    private int _started;
    private readonly IAlertPublisher _alerts;

    public DetectionPipeline(IOptions<DetectionOptions> options, IAlertPublisher alerts, DetectionMetrics metrics, TimeProvider time, ILogger<DetectionPipeline> logger, Core.Health.HealthRegistry? health = null, IWorkloadStateStore? stateStore = null, Workloads.NodeMemoryBudget? nodeMemory = null)
    {
        _stateStore = stateStore ?? NoWorkloadStateStore.Instance;
        _alerts = alerts;
        health ??= new Core.Health.HealthRegistry();
        var o = options.Value;
        _logger = logger;
        _options = o;
        _metrics = metrics;
        _time = time;
        _startedAt = time.GetUtcNow();
        metrics.AlertsPerWorkloadDayTarget.Set(o.TargetAlertsPerWorkloadDay);
        metrics.Threshold.WithLabels(AlertFactory.BaselineDetector, "rarity_bits").Set(o.RarityBits);
        metrics.Threshold.WithLabels(AlertFactory.BaselineDetector, "resource_z").Set(o.ResourceZThreshold);
        metrics.WorkloadSeriesLimit.Set(o.MaxWorkloadSeries);
        _nodeMemory = nodeMemory?.Budget ?? new ModelMemoryBudget(o.MemoryBudgetMiB * 1024L * 1024L);
        _modelMemory = new ModelMemoryBudget(o.Models.MemoryBudgetMiB * 1024L * 1024L, _nodeMemory);
        _shared = new ShardShared(_nodeMemory, _modelMemory) { Appeared = w => WorkloadAppeared?.Invoke(w) };
        metrics.MemoryBudget.Set(_nodeMemory.Limit);
        metrics.ModelMemoryBudget.Set(_modelMemory.Limit);
        var n = o.EffectiveShards;
        _shards = new Shard[n];
        for (var i = 0; i < n; i++)
        {
            _shards[i] = new Shard(i, o, Math.Max(1, o.MaxWorkloads / n), alerts, metrics, time, logger, _rate, _shared, health.Register($"detect-shard-{i}"), _stateStore);
        }
    }

    public int ShardCount => _shards.Length;

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            if (_options.UseEventTime)
            {
                // Every shard is known to alerting before its first mark: until each has reported one, alerting holds
                // everything (one fast shard's mark says nothing about a slow shard's alerts).
                for (var i = 0; i < _shards.Length; i++)
                {
                    _alerts.AdvanceClock(i, DateTimeOffset.MinValue.AddTicks(1));
                }
            }

            foreach (var s in _shards)
            {
                s.Start();
            }

            LogStarted(_logger, _shards.Length);
            _metricsTimer = _time.CreateTimer(_ => _ = PublishWorkloadMetricsAsync(), null, _options.MetricsInterval, _options.MetricsInterval);
            if (_options.CheckpointInterval > TimeSpan.Zero)
            {
                // Ingestion may take the rounds over after start-up (once it knows its state store persists).
                _checkpointTimer = _time.CreateTimer(_ => RequestCheckpoints(), null, _options.CheckpointInterval, _options.CheckpointInterval);
            }
        }
    }

    /// <summary>
    /// Refreshes per-workload series (the busiest <c>MaxWorkloadSeries</c>), calibration and memory estimates from a
    /// snapshot, off the hot path. Series of workloads no longer exported expire by themselves.
    /// </summary>
    public async Task PublishWorkloadMetricsAsync()
    {
        try
        {
            var now = _time.GetUtcNow();
            var all = await SnapshotAsync().ConfigureAwait(false);
            var exported = all.OrderByDescending(s => s.LastSeen).Take(_options.MaxWorkloadSeries).ToList();
            foreach (var s in exported)
            {
                var k = s.Key;
                var owner = k.OwnerKind + "/" + k.OwnerName;
                _metrics.WorkloadEvents.WithLabels(k.Cluster, k.Namespace, owner, k.Container).IncTo(s.EventsLearned + s.EventsScored);
                _metrics.WorkloadAlerts.WithLabels(k.Cluster, k.Namespace, owner, k.Container).IncTo(s.AlertsRaised);
                _metrics.WorkloadAge.WithLabels(k.Cluster, k.Namespace, owner, k.Container, s.Phase.ToWire()).Set((now - s.FirstSeen).TotalSeconds);
            }

            _metrics.WorkloadSeriesOverflow.Set(all.Count - exported.Count);
            _metrics.ModelMemory.Set(_modelMemory.Used);
            _metrics.MemoryUsed.Set(_nodeMemory.Used);
            foreach (var r in Enum.GetValues<MemoryRefusal>())
            {
                _metrics.ModelMemoryRefusals.WithLabels(r.ToWire()).IncTo(_modelMemory.Refusals(r) + _nodeMemory.Refusals(r));
            }

            _metrics.QueueDepth.Set(_shards.Sum(s => s.QueueCount));
            var active = all.Where(s => s.Phase is BaselinePhase.Active or BaselinePhase.Shadow).ToList();
            _metrics.OldestActiveBaseline.Set(active.Count == 0 ? 0 : active.Max(s => (now - s.FirstSeen).TotalSeconds));
            var window = TimeSpan.FromDays(1) < now - _startedAt ? TimeSpan.FromDays(1) : now - _startedAt;
            if (window > TimeSpan.FromMinutes(1))
            {
                _metrics.AlertsPerWorkloadDay.Set(_rate.CountSince(now - window, now) / (double)Math.Max(1, active.Count) * (TimeSpan.FromDays(1) / window));
            }

            foreach (var f in Enum.GetValues<Feature>())
            {
                // A learned item costs a dictionary entry: key (three references and an int) + count + hash/next.
                _metrics.BaselineMemory.WithLabels(f.ToWire()).Set(all.Sum(s => (long)s.DistinctItems[f]) * 56);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogMetricsFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Raised (on the owning shard's thread: handlers must return at once) when a workload gets a baseline on this
    /// node, first or again after eviction. The model watcher loads a promoted version only then, so a node does not
    /// hold the models of every workload in the cluster.
    /// </summary>
    public event Action<WorkloadKey>? WorkloadAppeared;

    /// <summary>Whether a workload has a baseline on this node now.</summary>
    public bool Tracks(WorkloadKey workload) => _shared.Tracked.ContainsKey(workload);

    /// <summary>The node's memory budget for models, shared by the shards (for tests and the CLI summary).</summary>
    public ModelMemoryBudget ModelMemory => _modelMemory;

    /// <summary>The node's memory budget for all detection state: baselines' items and (through <see cref="ModelMemory"/>) models.</summary>
    public ModelMemoryBudget NodeMemory => _nodeMemory;

    /// <summary>Queues an event; waits while the shard is full. Returns false once the pipeline is completing.</summary>
    public ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken cancellationToken)
    {
        return ShardFor(item.Key).EnqueueAsync(item, cancellationToken);
    }

    /// <summary>
    /// The one routing rule: a workload's events, verdicts, model swaps and checkpoints all go to the shard its owner
    /// hashes to (the ordinal hash of the key's owner part, so a key and its value route alike). A pod's containers share
    /// a shard, so a container that appears in a running pod is judged against its siblings in event order.
    /// </summary>
    private Shard ShardFor(WorkloadKey key) => ShardAt(key.OwnerHash);

    private Shard ShardAt(int hash) => _shards[ShardIndex(hash)];

    private int ShardIndex(int hash) => (hash & 0x7fffffff) % _shards.Length;

    /// <summary>Stops accepting events and waits until every queued one has been processed.</summary>
    public async Task CompleteAsync()
    {
        foreach (var s in _shards)
        {
            s.Complete();
        }

        await Task.WhenAll(_shards.Select(s => s.Completion)).ConfigureAwait(false);

        // Each shard checkpointed its workloads when its loop ended; make them durable before offsets are committed.
        FlushCheckpoints();
    }

    /// <summary>
    /// Absorbs an analyst's false-positive verdict into the workload's baseline on the shard that owns it: the item
    /// becomes known (or, with no item, the whole feature is accepted), so the same behaviour stops alerting.
    /// </summary>
    public Task<FeedbackResult> ApplyFeedbackAsync(FeedbackVerdict verdict) =>
        // A verdict naming no valid key can match no workload: any shard keeps it until it expires.
        (verdict.Key is { } key ? ShardFor(key) : _shards[0]).ApplyFeedbackAsync(verdict);

    /// <summary>
    /// Puts a model version in service for its workload on the shard that owns it, between two events: nothing is
    /// dropped or reordered. A workload not seen yet gets it when its first event arrives.
    /// </summary>
    public Task<FeedbackResult> SwapModelAsync(WorkloadModel model) =>
        WorkloadKey.TryParse(model.Card.Workload, out var key) ? ShardFor(key).SwapModelAsync(key, model) : Task.FromResult(FeedbackResult.Rejected);

    /// <summary>A copy of each workload's state, for the CLI summary and tests. Taken between events of each shard.</summary>
    public async Task<IReadOnlyList<WorkloadSnapshot>> SnapshotAsync()
    {
        var all = new List<WorkloadSnapshot>();
        foreach (var s in _shards)
        {
            all.AddRange(await s.SnapshotAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false));
        }

        return all;
    }

    public async ValueTask DisposeAsync()
    {
        if (_metricsTimer is not null)
        {
            await _metricsTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_checkpointTimer is not null)
        {
            await _checkpointTimer.DisposeAsync().ConfigureAwait(false);
        }

        await CompleteAsync().ConfigureAwait(false);
    }

}

/// <summary>A point-in-time view of one workload's baseline.</summary>
public sealed record WorkloadSnapshot(
    WorkloadKey Key,
    BaselinePhase Phase,
    DateTimeOffset FirstSeen,
    DateTimeOffset? ActiveSince,
    long EventsLearned,
    long EventsScored,
    IReadOnlyDictionary<Feature, int> DistinctItems)
{
    public long AlertsRaised { get; init; }

    public DateTimeOffset LastSeen { get; init; }

    public string? ModelVersion { get; init; }

    /// <summary>Thresholds in force: the model's calibrated ones, or higher where an analyst's verdict raised them.</summary>
    public IReadOnlyDictionary<string, double>? ModelThresholds { get; init; }

    public long ModelWindowsScored { get; init; }

    /// <summary>Bytes the workload's models, learning data and process streams hold reserved from the node's budget.</summary>
    public long ModelMemoryBytes { get; init; }

    /// <summary>What the memory budget cut from the model in service (<see cref="Models.MemoryRefusal"/>), or null.</summary>
    public string? ModelServedWithout { get; init; }
}

/// <summary>Alerts per minute over the last 24 hours, in a fixed ring (thread-safe, no allocation per alert).</summary>
internal sealed class AlertRate
{
    private readonly long[] _minutes = new long[1440];
    private readonly long[] _stamps = new long[1440];

    public void Record(DateTimeOffset now)
    {
        var minute = now.ToUnixTimeSeconds() / 60;
        var i = (int)(minute % _minutes.Length);
        if (Interlocked.Exchange(ref _stamps[i], minute) != minute)
        {
            // The slot held a minute from a day ago: restart it (a race here loses at most a few counts).
            Interlocked.Exchange(ref _minutes[i], 0);
        }

        Interlocked.Increment(ref _minutes[i]);
    }

    public long CountSince(DateTimeOffset from, DateTimeOffset now)
    {
        var first = from.ToUnixTimeSeconds() / 60;
        var last = now.ToUnixTimeSeconds() / 60;
        long sum = 0;
        for (var i = 0; i < _minutes.Length; i++)
        {
            var m = Interlocked.Read(ref _stamps[i]);
            if (m >= first && m <= last)
            {
                sum += Interlocked.Read(ref _minutes[i]);
            }
        }

        return sum;
    }
}

/// <summary>An analyst's verdict that a finding is normal for this workload.</summary>
/// <param name="Item">The exact item (scope "item"), or null to accept every new item of the feature (scope "feature").</param>
/// <param name="Detector">Scope "detector": the model detector whose alert was fine (then Feature and Item are unused).</param>
/// <param name="Score">Scope "detector": the score the analyst marked as fine.</param>
/// <param name="AcceptUntil">Scope "feature": when the acceptance of every new item ends (always set: verdicts expire).</param>
/// <param name="PendingUntil">For a workload not on this node yet: the verdict is dropped if it has not appeared by then.</param>
public sealed record FeedbackVerdict(string Workload, Feature Feature, FeatureKey? Item, string? Detector = null, double Score = double.NaN, DateTimeOffset AcceptUntil = default, DateTimeOffset PendingUntil = default)
{
    /// <summary>The workload's key, parsed once; null when the verdict names none (it can only wait and expire).</summary>
    public WorkloadKey? Key { get; } = WorkloadKey.TryParse(Workload, out var key) ? key : null;

    /// <summary>Applies the verdict to a workload's baseline or models; false when it cannot apply (no such detector).</summary>
    public bool ApplyTo(Workloads.WorkloadState state)
    {
        if (Detector is null)
        {
            state.Baseline.Absorb(Feature, Item, AcceptUntil);
            return true;
        }

        return state.RaiseThreshold(Detector, Score);
    }
}

public enum FeedbackResult
{
    Applied,
    Pending,
    Rejected,

    /// <summary>For a workload not on this node, and too old to wait for it any longer.</summary>
    Expired,
}
