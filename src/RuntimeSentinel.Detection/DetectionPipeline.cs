using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Shards;

namespace RuntimeSentinel.Detection;

/// <summary>
/// Routes events to single-reader shards by workload key, so each workload's baseline is touched by one thread
/// and its events stay in order. Ingestion blocks when a shard queue is full (backpressure reaches the Kafka
/// consumer instead of dropping). After an event is processed its offset is reported complete.
/// </summary>
public sealed partial class DetectionPipeline : IDetectionIngress, IAsyncDisposable
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(10);

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
    private readonly IAlertPublisher _alerts;
    private readonly IWorkloadStateStore _stateStore;
    private readonly DriftSeries _drift;
    private ITimer? _metricsTimer;
    private ITimer? _checkpointTimer;
    private int _started;
    private volatile bool _checkpointsDriven;

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
        _drift = new DriftSeries(metrics, o.Models.Drift);
        _nodeMemory = nodeMemory?.Budget ?? new ModelMemoryBudget(o.MemoryBudgetMiB * 1024L * 1024L);
        _modelMemory = new ModelMemoryBudget(o.Models.MemoryBudgetMiB * 1024L * 1024L, _nodeMemory);
        _shared = new ShardShared(_nodeMemory, _modelMemory) { Appeared = w => WorkloadAppeared?.Invoke(w) };
        metrics.MemoryBudget.Set(_nodeMemory.Limit);
        metrics.ModelMemoryBudget.Set(_modelMemory.Limit);
        var n = o.EffectiveShards;
        var context = new ShardContext(o, alerts, metrics, time, logger, _rate, _shared, _stateStore);
        _shards = new Shard[n];
        for (var i = 0; i < n; i++)
        {
            _shards[i] = new Shard(i, Math.Max(1, o.MaxWorkloads / n), health.Register($"detect-shard-{i}"), context);
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
            _drift.Publish(all);
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
    private Shard ShardFor(WorkloadKey key) => _shards[Shard.IndexOf(key.OwnerHash, _shards.Length)];

    public IIngestWriter CreateWriter() => new ShardWriter(_shards, _options);

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

    /// <summary>
    /// Checkpoints every changed workload on every shard and waits until the store has them (before partitions are
    /// given up in a rebalance). False when a shard or the store did not finish within <paramref name="timeout"/>, or a
    /// shard's checkpoint failed.
    /// </summary>
    public async Task<bool> CheckpointAsync(TimeSpan timeout)
    {
        var done = Task.WhenAll(_shards.Select(s => s.CheckpointAsync()));
        if (await Task.WhenAny(done, Task.Delay(timeout, _time)).ConfigureAwait(false) != done || !done.IsCompletedSuccessfully)
        {
            return false;
        }

        return _stateStore.Flush(timeout);
    }

    public TimeSpan CheckpointInterval => _options.CheckpointInterval;

    /// <inheritdoc/>
    public void DriveCheckpoints() => _checkpointsDriven = true;

    /// <summary>Events whose alerts are not yet delivered or on disk: their offsets wait (see <see cref="AlertReceipt"/>).</summary>
    public long EventsAwaitingAlerts => _shared.AlertsInFlight;

    /// <summary>The checkpoint timer's round, unless ingestion drives the rounds (it knows its state store persists).</summary>
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
}
