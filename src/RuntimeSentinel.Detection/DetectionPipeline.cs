using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
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
public sealed partial class DetectionPipeline : IAsyncDisposable
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
    private readonly ConcurrentDictionary<string, byte> _tracked = new(StringComparer.Ordinal);
    private ITimer? _metricsTimer;
    private int _started;

    public DetectionPipeline(IOptions<DetectionOptions> options, IAlertPublisher alerts, DetectionMetrics metrics, TimeProvider time, ILogger<DetectionPipeline> logger, Core.Health.HealthRegistry? health = null, Workloads.IWorkloadStateStore? stateStore = null, Workloads.NodeMemoryBudget? nodeMemory = null)
    {
        _stateStore = stateStore ?? Workloads.NoWorkloadStateStore.Instance;
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
        metrics.MemoryBudget.Set(_nodeMemory.Limit);
        metrics.ModelMemoryBudget.Set(_modelMemory.Limit);
        var n = o.EffectiveShards;
        _shards = new Shard[n];
        for (var i = 0; i < n; i++)
        {
            _shards[i] = new Shard(i, o, Math.Max(1, o.MaxWorkloads / n), alerts, metrics, time, logger, _rate, this, health.Register($"detect-shard-{i}"), _stateStore);
        }
    }

    public int ShardCount => _shards.Length;

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            foreach (var s in _shards)
            {
                s.Start();
            }

            LogStarted(_logger, _shards.Length);
            _metricsTimer = _time.CreateTimer(_ => _ = PublishWorkloadMetricsAsync(), null, _options.MetricsInterval, _options.MetricsInterval);
            if (_options.CheckpointInterval > TimeSpan.Zero && !CheckpointsDrivenByIngestion)
            {
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
    public event Action<string>? WorkloadAppeared;

    /// <summary>Whether a workload has a baseline on this node now.</summary>
    public bool Tracks(string workload) => _tracked.ContainsKey(workload);

    private void OnAppeared(string workload)
    {
        _tracked[workload] = 0;
        WorkloadAppeared?.Invoke(workload);
    }

    private void OnGone(string workload) => _tracked.TryRemove(workload, out _);

    /// <summary>The node's memory budget for models, shared by the shards (for tests and the CLI summary).</summary>
    public ModelMemoryBudget ModelMemory => _modelMemory;

    /// <summary>The node's memory budget for all detection state: baselines' items and (through <see cref="ModelMemory"/>) models.</summary>
    public ModelMemoryBudget NodeMemory => _nodeMemory;

    /// <summary>Queues an event; waits while the shard is full. Returns false once the pipeline is completing.</summary>
    public ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken cancellationToken)
    {
        var shard = _shards[(item.Key.GetHashCode() & 0x7fffffff) % _shards.Length];
        return shard.EnqueueAsync(item, cancellationToken);
    }

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
        _shards[(StringComparer.Ordinal.GetHashCode(verdict.Workload) & 0x7fffffff) % _shards.Length].ApplyFeedbackAsync(verdict);

    /// <summary>
    /// Puts a model version in service for its workload on the shard that owns it, between two events: nothing is
    /// dropped or reordered. A workload not seen yet gets it when its first event arrives.
    /// </summary>
    public Task<FeedbackResult> SwapModelAsync(WorkloadModel model) =>
        _shards[(StringComparer.Ordinal.GetHashCode(model.Card.Workload) & 0x7fffffff) % _shards.Length].SwapModelAsync(model);

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

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Detection started with {Shards} shards")]
    private static partial void LogStarted(ILogger logger, int shards);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Workload {Workload} finished learning after {Events} events; now active")]
    private static partial void LogActive(ILogger logger, string workload, long events);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Workload {Workload}: {Feature} baseline reached its cap of {Cap} items; further new items are counted, not learned")]
    private static partial void LogCapacity(ILogger logger, string workload, string feature, int cap);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "Detection:MemoryBudgetMiB is spent ({Used} of {Limit} bytes): {Workload} could not learn a new {Feature} item; baselines learn no new items until evictions free memory (sentinel_model_memory_refusals_total{{what=\"baseline_items\"}})")]
    private static partial void LogMemorySpent(ILogger logger, string workload, string feature, long used, long limit);

    private int _memoryRefusalLogged;

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Evicted idle workload {Workload}: MaxWorkloads reached")]
    private static partial void LogEvicted(ILogger logger, string workload);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Could not refresh per-workload metrics")]
    private static partial void LogMetricsFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Workload {Workload}: trained model {Version}; calibrated thresholds {Thresholds}")]
    private static partial void LogModelTrained(ILogger logger, string workload, string version, string thresholds);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Workload {Workload}: too little learning data to train a model; novelty detection only")]
    private static partial void LogModelInsufficient(ILogger logger, string workload);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Workload {Workload}: model training failed; novelty detection only")]
    private static partial void LogModelFailed(ILogger logger, Exception ex, string workload);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Workload {Workload}: model {Version} put in service")]
    private static partial void LogModelSwapped(ILogger logger, string workload, string version);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Workload {Workload}: {Detector} exceeded its threshold too often in shadow; recalibrated to {Threshold}")]
    private static partial void LogRecalibrated(ILogger logger, string workload, string detector, double threshold);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Workload {Workload}: new image {Digest}; relearning (stale)")]
    private static partial void LogRelearning(ILogger logger, string workload, string digest);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Workload {Workload}: model {Version} put in service without {Cut}: Detection:Models:MemoryBudgetMiB is spent ({Used} of {Limit} bytes)")]
    private static partial void LogModelTrimmed(ILogger logger, string workload, string version, string cut, long used, long limit);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Workload {Workload}: model {Version} not put in service: Detection:Models:MemoryBudgetMiB is spent ({Used} of {Limit} bytes); novelty detection only")]
    private static partial void LogModelRefused(ILogger logger, string workload, string version, long used, long limit);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Error, Message = "Detection shard {Shard}: a command (verdict, model swap, snapshot) failed; the shard goes on")]
    private static partial void LogCommandFailed(ILogger logger, Exception ex, int shard);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Critical, Message = "Detection shard {Shard} stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogShardFaulted(ILogger logger, Exception ex, int shard);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Detection shard {Shard} failed processing an event of {Workload}")]
    private static partial void LogShardError(ILogger logger, Exception ex, int shard, string workload);

    private sealed partial class Shard : IBaselineObserver
    {
        private readonly Channel<IngestItem> _queue;
        private readonly Dictionary<WorkloadKey, WorkloadBaseline> _baselines = new();
        private readonly Dictionary<string, string> _pathCache = new(StringComparer.Ordinal);
        private readonly List<Finding> _findings = new(4);
        private readonly List<ModelFinding> _modelFindings = new(2);
        private readonly Dictionary<string, WorkloadModel> _pendingModels = new(StringComparer.Ordinal);
        private readonly ModelStore? _store;
        private readonly Channel<Action> _commands = Channel.CreateUnbounded<Action>();
        private readonly List<FeedbackVerdict> _pendingFeedback = [];
        private readonly int _index;
        private readonly DetectionOptions _options;
        private readonly int _maxWorkloads;
        private readonly IAlertPublisher _alerts;
        private readonly DetectionMetrics _metrics;
        private readonly TimeProvider _time;
        private readonly ILogger _logger;
        private readonly Prometheus.Counter.Child _learning;
        private readonly Prometheus.Counter.Child _active;
        private readonly Prometheus.Histogram.Child _scoreMargin;
        private readonly AlertRate _rate;
        private readonly DetectionPipeline _owner;
        private readonly Core.Health.StageHealth _stage;
        private readonly EventWatermark _watermark;
        private WorkloadKey? _current;
        private Task _loop = Task.CompletedTask;

        public Shard(int index, DetectionOptions options, int maxWorkloads, IAlertPublisher alerts, DetectionMetrics metrics, TimeProvider time, ILogger logger, AlertRate rate, DetectionPipeline owner, Core.Health.StageHealth stage, Workloads.IWorkloadStateStore stateStore)
        {
            _stateStore = stateStore;
            _stage = stage;
            _rate = rate;
            _owner = owner;
            _watermark = new EventWatermark(options.EventTimeMaxLead);
            _store = string.IsNullOrEmpty(options.Models.Directory) ? null : new ModelStore(options.Models.Directory);
            _scoreMargin = metrics.ScoreMargin.WithLabels(AlertFactory.BaselineDetector);
            _index = index;
            _options = options;
            _maxWorkloads = maxWorkloads;
            _alerts = alerts;
            _metrics = metrics;
            _time = time;
            _logger = logger;
            _learning = metrics.EventsProcessed.WithLabels("learning");
            _active = metrics.EventsProcessed.WithLabels("active");
            _queue = Channel.CreateBounded<IngestItem>(new BoundedChannelOptions(options.ShardQueueCapacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        public Task Completion => _loop;

        /// <summary>Events waiting; read when metrics are refreshed (a shared gauge per event would contend across threads).</summary>
        public int QueueCount => _queue.Reader.Count;

        public void Start() => _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

        public ValueTask<bool> EnqueueAsync(IngestItem item, CancellationToken ct)
        {
            if (_queue.Writer.TryWrite(item))
            {
                return ValueTask.FromResult(true);
            }

            return SlowAsync(item, ct);

            async ValueTask<bool> SlowAsync(IngestItem item, CancellationToken ct)
            {
                while (await _queue.Writer.WaitToWriteAsync(ct).ConfigureAwait(false))
                {
                    if (_queue.Writer.TryWrite(item))
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        public void Complete()
        {
            _queue.Writer.TryComplete();
            _commands.Writer.TryComplete();
        }

        /// <summary>
        /// The shard's workloads, read on the shard thread between two events (baselines are not thread-safe). A shard
        /// busy for longer than <paramref name="timeout"/> (training a model) is left out rather than read racily.
        /// </summary>
        public async Task<List<WorkloadSnapshot>> SnapshotAsync(TimeSpan timeout)
        {
            var tcs = new TaskCompletionSource<List<WorkloadSnapshot>>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_commands.Writer.TryWrite(() => tcs.TrySetResult(TakeSnapshot())))
            {
                // Stopping: once the loop has drained, no other thread touches the baselines.
                var drained = await Task.WhenAny(_loop, Task.Delay(timeout)).ConfigureAwait(false) == _loop;
                return drained ? TakeSnapshot() : [];
            }

            var finished = await Task.WhenAny(tcs.Task, _loop, Task.Delay(timeout)).ConfigureAwait(false);
            if (finished == tcs.Task)
            {
                return await tcs.Task.ConfigureAwait(false);
            }

            if (finished == _loop)
            {
                return TakeSnapshot();
            }

            _metrics.SnapshotTimeouts.Inc();
            return [];
        }

        private async Task RunAsync()
        {
            _stage.Running();
            try
            {
                await LoopAsync().ConfigureAwait(false);
                _stage.Stopped();
            }
            catch (Exception ex)
            {
                // Process() and commands catch per item; anything reaching here means the shard is gone.
                _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
                LogShardFaulted(_logger, ex, _index);
                throw;
            }
        }

        private async Task LoopAsync()
        {
            var reader = _queue.Reader;
            while (true)
            {
                var waitItem = reader.WaitToReadAsync().AsTask();
                var waitCommand = _commands.Reader.WaitToReadAsync().AsTask();
                await Task.WhenAny(waitItem, waitCommand).ConfigureAwait(false);
                RunCommands();
                if (waitItem.IsCompleted && !await waitItem.ConfigureAwait(false))
                {
                    break;
                }

                while (reader.TryRead(out var item))
                {
                    Process(item);
                }
            }

            RunCommands();
            CheckpointChanged();
        }

        private void RunCommands()
        {
            while (_commands.Reader.TryRead(out var command))
            {
                try
                {
                    command();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A verdict, swap or snapshot that fails must not end the shard; its caller gets the exception.
                    _stage.ItemFailed($"command failed: {ex.GetType().Name}: {ex.Message}");
                    LogCommandFailed(_logger, ex, _index);
                }
            }
        }

        /// <summary>Applies an analyst's verdict on the shard thread (or keeps it until the workload appears).</summary>
        public Task<FeedbackResult> ApplyFeedbackAsync(FeedbackVerdict verdict) => OnShardAsync(() => ApplyFeedback(verdict));

        /// <summary>Runs a state change on the shard thread between two events; Rejected once the shard has stopped.</summary>
        private Task<FeedbackResult> OnShardAsync(Func<FeedbackResult> change)
        {
            var tcs = new TaskCompletionSource<FeedbackResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_commands.Writer.TryWrite(() =>
            {
                try
                {
                    tcs.TrySetResult(change());
                }
                catch (Exception ex)
                {
                    tcs.TrySetException(ex);
                    throw;
                }
            }))
            {
                tcs.TrySetResult(FeedbackResult.Rejected);
            }

            return tcs.Task;
        }

        private FeedbackResult ApplyFeedback(FeedbackVerdict verdict)
        {
            var baseline = _baselines.FirstOrDefault(kv => kv.Key.Value == verdict.Workload).Value;
            if (baseline is null)
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

            return verdict.ApplyTo(baseline) ? FeedbackResult.Applied : FeedbackResult.Rejected;
        }

        public Task<FeedbackResult> SwapModelAsync(WorkloadModel model) => OnShardAsync(() => SwapModel(model));

        private FeedbackResult SwapModel(WorkloadModel model)
        {
            var baseline = _baselines.FirstOrDefault(kv => kv.Key.Value == model.Card.Workload).Value;
            if (baseline?.Models is null)
            {
                if (!_options.Models.Enabled)
                {
                    _metrics.ModelSwaps.WithLabels("rejected").Inc();
                    return FeedbackResult.Rejected;
                }

                if (_pendingModels.Count >= 1000 && !_pendingModels.ContainsKey(model.Card.Workload))
                {
                    _pendingModels.Remove(_pendingModels.Keys.First());
                }

                _pendingModels[model.Card.Workload] = model;
                _metrics.ModelSwaps.WithLabels("pending").Inc();
                return FeedbackResult.Pending;
            }

            // A model the memory budget cannot hold is not in service: counted as rejected, like a broken one.
            var served = baseline.Models.Swap(model, promoted: true);
            _metrics.ModelSwaps.WithLabels(served ? "applied" : "rejected").Inc();
            ReportFit(model.Card.Workload, model.Card.Version, baseline.Models);
            return served ? FeedbackResult.Applied : FeedbackResult.Rejected;
        }

        /// <summary>Logs what the memory budget cut from the model just put in service (or that it refused it).</summary>
        private void ReportFit(string workload, string version, ModelRuntime models)
        {
            switch (models.LastFit)
            {
                case null:
                    LogModelSwapped(_logger, workload, version);
                    break;
                case MemoryRefusal.Model:
                    LogModelRefused(_logger, workload, version, _owner.ModelMemory.Used, _owner.ModelMemory.Limit);
                    break;
                case { } cut:
                    LogModelTrimmed(_logger, workload, version, cut.ToWire(), _owner.ModelMemory.Used, _owner.ModelMemory.Limit);
                    break;
            }
        }

        private void OnPhaseChanged(WorkloadKey key, WorkloadBaseline baseline, BaselinePhase from, DateTimeOffset now)
        {
            var models = baseline.Models;
            if (models is null)
            {
                return;
            }

            switch (baseline.Phase)
            {
                case BaselinePhase.Stale:
                    LogRelearning(_logger, key.Value, baseline.RelearnedFor ?? "?");
                    models.Reset();
                    break;
                case BaselinePhase.Shadow or BaselinePhase.Active when from is BaselinePhase.Learning or BaselinePhase.Stale:
                    TrainModels(key, models, now);
                    break;
                case BaselinePhase.Active when from == BaselinePhase.Shadow:
                    foreach (var detector in models.ConfirmShadow(_options.Models.ShadowDuration))
                    {
                        _metrics.ThresholdsRecalibrated.Inc();
                        LogRecalibrated(_logger, key.Value, detector, models.Model?.ThresholdOf(detector) ?? double.NaN);
                    }

                    break;
            }
        }

        private void TrainModels(WorkloadKey key, ModelRuntime models, DateTimeOffset now)
        {
            if (models.Promoted)
            {
                // A data scientist's promoted version is in service; it is not replaced by an automatic one.
                models.DiscardTraining();
                return;
            }

            try
            {
                var version = "auto-" + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
                var model = models.Train(now, version, "daemon", _options.Models.SaveTrained ? KnownItems.From(_baselines[key]) : null);
                if (model is null)
                {
                    _metrics.ModelsTrained.WithLabels("insufficient_data").Inc();
                    LogModelInsufficient(_logger, key.Value);
                    return;
                }

                _metrics.ModelsTrained.WithLabels("trained").Inc();
                LogModelTrained(_logger, key.Value, version, string.Join(", ", model.Card.Thresholds.Select(t => $"{t.Key}={t.Value:0.###}")));
                if (models.LastFit is not null)
                {
                    ReportFit(key.Value, version, models);
                }
                if (_store is not null && _options.Models.SaveTrained)
                {
                    model.Save(_store.VersionPath(key.Value, version));
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _metrics.ModelsTrained.WithLabels("failed").Inc();
                LogModelFailed(_logger, ex, key.Value);
            }
        }

        private List<WorkloadSnapshot> TakeSnapshot() =>
            _baselines.Select(kv => new WorkloadSnapshot(
                kv.Key, kv.Value.Phase, kv.Value.FirstSeen, kv.Value.ActiveSince, kv.Value.EventsLearned, kv.Value.EventsScored,
                Enum.GetValues<Feature>().ToDictionary(f => f, f => kv.Value.Counter(f).Count))
            {
                AlertsRaised = kv.Value.AlertsRaised,
                LastSeen = kv.Value.LastSeen,
                ModelVersion = kv.Value.Models?.Model?.Card.Version,
                ModelThresholds = kv.Value.Models is { Model: { } m } models ? m.Card.Thresholds.Keys.ToDictionary(d => d, models.ThresholdOf, StringComparer.Ordinal) : null,
                ModelWindowsScored = kv.Value.Models?.WindowsScored ?? 0,
                ModelMemoryBytes = kv.Value.Models?.ReservedBytes ?? 0,
                ModelServedWithout = kv.Value.Models?.LastFit?.ToWire(),
            }).ToList();

        /// <summary>A model finding whose score is (90 % or more) features that a container start or stop moves.</summary>
        private static bool IsStartupOnly(ModelFinding f)
        {
            if (f.TopFeatures.Count == 0)
            {
                return false;
            }

            double startup = 0, total = 0;
            foreach (var c in f.TopFeatures)
            {
                total += c.Share;
                if (Models.BehaviourSchema.IsStartupFeature(c.Feature))
                {
                    startup += c.Share;
                }
            }

            return total > 0 ? startup >= 0.9 * total : f.TopFeatures.All(c => Models.BehaviourSchema.IsStartupFeature(c.Feature));
        }

        private void Process(in IngestItem item)
        {
            AlertReceipt? receipt = null;
            int raised = 0, published = 0;
            try
            {
                var inventory = item.Event.Labels[EventLabels.Inventory] is not null;
                var now = _options.UseEventTime ? EventClock(item.Event.Timestamp, inventory) : _time.GetUtcNow();
                var existed = _baselines.ContainsKey(item.Key);
                var baseline = GetBaseline(item.Key, now);
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

                _current = item.Key;
                var e = item.Event;
                var path = e.Kind == EventKind.FileOpen && e.FilePath is { } p ? NormalizePath(p) : null;
                var suppressedBefore = baseline.CooldownSuppressed;
                var adaptedBefore = baseline.AdaptedItems;
                var phase = baseline.Phase;
                (phase is BaselinePhase.Active or BaselinePhase.Shadow ? _active : _learning).Inc();
                baseline.Observe(e, path, now, this, _findings, item.Peer);
                if (baseline.Models is { } models)
                {
                    // The phase the event was observed in: the event that ends learning is still learning data.
                    var windows = models.WindowsScored;
                    var shadow = models.ShadowExceedances;
                    models.Observe(e, baseline.LastEventKnown, phase, now, _modelFindings);
                    if (models.WindowsScored != windows)
                    {
                        _metrics.ModelWindows.Inc(models.WindowsScored - windows);
                    }

                    if (models.ShadowExceedances != shadow)
                    {
                        _metrics.ShadowExceedances.Inc(models.ShadowExceedances - shadow);
                    }
                }

                if (baseline.Phase != phase)
                {
                    OnPhaseChanged(item.Key, baseline, phase, now);
                }

                if (baseline.CooldownSuppressed != suppressedBefore)
                {
                    _metrics.Findings.WithLabels("cooldown").Inc(baseline.CooldownSuppressed - suppressedBefore);
                }

                if (baseline.AdaptedItems != adaptedBefore)
                {
                    _metrics.Findings.WithLabels("adapted").Inc(baseline.AdaptedItems - adaptedBefore);
                }

                if (!double.IsNaN(baseline.LastScoreMargin))
                {
                    _scoreMargin.Observe(baseline.LastScoreMargin);
                }

                if (_modelFindings.Count > 0 && baseline.WarmingUp(now))
                {
                    // A container starting or stopping (a replica, a restart, a rollout) makes processes, files and CPU
                    // unlike steady state: a finding made (90 % of its score) of those is counted, not raised. Volumes,
                    // peers and failures still alert.
                    var before = _modelFindings.Count;
                    _modelFindings.RemoveAll(IsStartupOnly);
                    _metrics.Findings.WithLabels("warmup").Inc(before - _modelFindings.Count);
                }

                // The event's offset completes once its alerts are safe (delivered or on disk), not when they are queued.
                raised = _findings.Count + _modelFindings.Count;
                receipt = raised > 0 && item.Completion is { } completion ? Receipt(raised, completion, item.Offset) : null;
                if (_findings.Count > 0)
                {
                    foreach (var f in _findings)
                    {
                        _alerts.Publish(AlertFactory.WithModelContext(AlertFactory.Create(item.Key, e, f, baseline.State(now), now), f, baseline.Models, _options.Models.TopFeatures) with { Receipt = receipt });
                        published++;
                        if (receipt is not null)
                        {
                            NoteUnsafe(item.Key, f.Feature, f.Item, receipt);
                        }
                        baseline.AlertsRaised++;
                        _rate.Record(_time.GetUtcNow());
                    }

                    _findings.Clear();
                }

                if (_modelFindings.Count > 0)
                {
                    foreach (var f in _modelFindings)
                    {
                        _alerts.Publish(AlertFactory.Create(item.Key, e, f, baseline.State(now), now, baseline.Models?.Model?.Card.Version) with { Receipt = receipt });
                        published++;
                        baseline.AlertsRaised++;
                        _rate.Record(_time.GetUtcNow());
                    }

                    _modelFindings.Clear();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // One poisoned event must not stop the shard; it is logged and still committed (it cannot succeed on retry).
                LogShardError(_logger, ex, _index, item.Key.Value);
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
                foreach (var b in _baselines.Values)
                {
                    if (b.Phase is BaselinePhase.Learning or BaselinePhase.Stale)
                    {
                        b.RestartClock(now);
                    }
                }

                _metrics.ClockJumps.Inc();
            }

            return now;
        }

        private WorkloadBaseline GetBaseline(WorkloadKey key, DateTimeOffset now)
        {
            if (_baselines.TryGetValue(key, out var b))
            {
                return b;
            }

            if (_baselines.Count >= _maxWorkloads)
            {
                // Idle learning workloads go first: they lose minutes of learning, an active one its whole baseline.
                var idle = _baselines.Where(kv => kv.Value.Phase is BaselinePhase.Learning or BaselinePhase.Stale).DefaultIfEmpty().MinBy(kv => kv.Value?.LastSeen ?? DateTimeOffset.MaxValue);
                if (idle.Value is null)
                {
                    idle = _baselines.MinBy(kv => kv.Value.LastSeen);
                }

                // Its checkpoint brings it back as it was when it returns (here or on another node).
                Checkpoint(idle.Key, idle.Value);
                _checkpointed.Remove(idle.Key);
                _unsafeCooldowns.Remove(idle.Key);
                _baselines.Remove(idle.Key);
                idle.Value.ReleaseMemory();
                idle.Value.Models?.Release();
                _owner.OnGone(idle.Key.Value);
                _metrics.WorkloadsEvicted.Inc();
                _metrics.Workloads.WithLabels(idle.Value.Phase.ToWire()).Dec();
                foreach (var f in Enum.GetValues<Feature>())
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Dec(idle.Value.Counter(f).Count);
                }

                LogEvicted(_logger, idle.Key.Value);
            }

            var restored = Restore(key);
            b = restored?.Baseline ?? new WorkloadBaseline(_options, now, _owner.NodeMemory);
            if (_options.Models.Enabled)
            {
                b.Models = new ModelRuntime(key.Value, _options.Models, _options.TargetAlertsPerWorkloadDay, _owner.ModelMemory);
                if (restored?.Model is { } model)
                {
                    _metrics.ModelSwaps.WithLabels(b.Models.Swap(model, restored.ModelPromoted) ? "applied" : "rejected").Inc();
                    ReportFit(key.Value, model.Card.Version, b.Models);
                }

                if (_pendingModels.Remove(key.Value, out var pending))
                {
                    _metrics.ModelSwaps.WithLabels(b.Models.Swap(pending, promoted: true) ? "applied" : "rejected").Inc();
                    ReportFit(key.Value, pending.Card.Version, b.Models);
                }
            }

            _baselines.Add(key, b);
            _owner.OnAppeared(key.Value);
            if (_pendingFeedback.Count > 0)
            {
                var wall = _time.GetUtcNow();
                foreach (var pending in _pendingFeedback.Where(f => f.Workload == key.Value).ToList())
                {
                    // Wall-clock expiry: a verdict waits for its workload for a bounded time, not for ever.
                    if (pending.PendingUntil > wall)
                    {
                        pending.ApplyTo(b);
                    }

                    _pendingFeedback.Remove(pending);
                }
            }

            _metrics.Workloads.WithLabels(b.Phase.ToWire()).Inc();
            if (restored is not null)
            {
                foreach (var f in Enum.GetValues<Feature>())
                {
                    _metrics.ItemsLearned.WithLabels(f.ToWire()).Inc(b.Counter(f).Count);
                }

                _checkpointed[key] = ChangeMark(b);
            }

            return b;
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

        public void ItemLearned(Feature feature) => _metrics.ItemsLearned.WithLabels(feature.ToWire()).Inc();

        public void CapacityExceeded(Feature feature)
        {
            var counter = _metrics.CapacityExceeded.WithLabels(feature.ToWire());
            var c = _current is not null && _baselines.TryGetValue(_current, out var b) ? b.Counter(feature) : null;
            if (c?.MemoryRefused > 0 && Interlocked.Exchange(ref _owner._memoryRefusalLogged, 1) == 0)
            {
                // Once per process: the node's budget is spent, every workload learns no more items until memory is freed.
                LogMemorySpent(_logger, _current?.Value ?? "?", feature.ToWire(), _owner.NodeMemory.Used, _owner.NodeMemory.Limit);
            }
            else if (c?.MemoryRefused == 0 && (counter.Value == 0 || c.Overflow == 1))
            {
                LogCapacity(_logger, _current?.Value ?? "?", feature.ToWire(), _options.MaxItemsPerFeature);
            }

            counter.Inc();
        }

        public void PhaseChanged(BaselinePhase from, BaselinePhase to)
        {
            _metrics.Workloads.WithLabels(from.ToWire()).Dec();
            _metrics.Workloads.WithLabels(to.ToWire()).Inc();
            if (from is BaselinePhase.Learning or BaselinePhase.Stale && _current is not null && _baselines.TryGetValue(_current, out var b))
            {
                _metrics.LearningDuration.Observe(((b.ActiveSince ?? b.LastSeen) - b.FirstSeen).TotalSeconds);
                LogActive(_logger, _current.Value, b.EventsLearned);
            }
        }
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
public sealed class AlertRate
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
    /// <summary>Applies the verdict to a workload's baseline or models; false when it cannot apply (no such detector).</summary>
    public bool ApplyTo(WorkloadBaseline baseline)
    {
        if (Detector is null)
        {
            baseline.Absorb(Feature, Item, AcceptUntil);
            return true;
        }

        return baseline.Models?.RaiseThreshold(Detector, Score) == true;
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
