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

public sealed partial class DetectionPipeline
{
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
            if (!WorkloadKey.TryParse(verdict.Workload, out var key) || !_baselines.TryGetValue(key, out var baseline))
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
            var baseline = WorkloadKey.TryParse(model.Card.Workload, out var key) ? _baselines.GetValueOrDefault(key) : null;
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

            var version = "auto-" + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var known = _options.Models.SaveTrained ? KnownItems.From(_baselines[key]) : null;
            if (_options.Models.TrainInBackground)
            {
                // Off the shard: its other workloads (and the consume loop behind it) go on meanwhile; the model comes
                // back as a command, between two events, like a hot swap.
                var job = models.TakeTraining(now, version, "daemon", known);
                _ = Task.Run(() =>
                {
                    WorkloadModel? trained = null;
                    Exception? error = null;
                    try
                    {
                        trained = job.Build();
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        error = ex;
                    }
                    finally
                    {
                        job.Dispose(); // released before the model reserves its own memory: never both needed
                    }

                    return OnShardAsync(() => InstallTrained(key, models, job, trained, error));
                });
                return;
            }

            try
            {
                InstallTrained(key, models, null, models.Train(now, version, "daemon", known), null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                InstallTrained(key, models, null, null, ex);
            }
        }

        /// <summary>Puts a model trained for a workload in service (on the shard thread), unless the workload moved on.</summary>
        /// <param name="job">The background job it came from; null when it was trained inline (and already installed).</param>
        private FeedbackResult InstallTrained(WorkloadKey key, ModelRuntime models, ModelRuntime.TrainingJob? job, WorkloadModel? model, Exception? error)
        {
            if (error is not null)
            {
                _metrics.ModelsTrained.WithLabels("failed").Inc();
                LogModelFailed(_logger, error, key.Value);
                return FeedbackResult.Rejected;
            }

            if (model is null)
            {
                _metrics.ModelsTrained.WithLabels("insufficient_data").Inc();
                LogModelInsufficient(_logger, key.Value);
                return FeedbackResult.Rejected;
            }

            if (job is not null)
            {
                // Evicted, relearning, or a data scientist's version promoted meanwhile: this model is not wanted any more.
                if (!_baselines.TryGetValue(key, out var b) || !ReferenceEquals(b.Models, models) || !job.StillCurrent || models.Promoted)
                {
                    _metrics.ModelsTrained.WithLabels("discarded").Inc();
                    return FeedbackResult.Rejected;
                }

                models.Swap(model);
            }

            _metrics.ModelsTrained.WithLabels("trained").Inc();
            LogModelTrained(_logger, key.Value, model.Card.Version, string.Join(", ", model.Card.Thresholds.Select(t => $"{t.Key}={t.Value:0.###}")));
            if (models.LastFit is not null)
            {
                ReportFit(key.Value, model.Card.Version, models);
            }

            try
            {
                if (_store is not null && _options.Models.SaveTrained)
                {
                    model.Save(_store.VersionPath(key.Value, model.Card.Version));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogModelFailed(_logger, ex, key.Value);
            }

            return FeedbackResult.Applied;
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
    }
}
