using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection;

public sealed partial class DetectionPipeline
{
    private sealed partial class Shard
    {
        private readonly Channel<IngestBatch> _queue;

        // Batches the queue holds (its capacity in events over the batch size).
        private readonly int _capacity;

        // Emptied batches, for the writer to fill again: a hand-over allocates nothing in steady state.
        private readonly System.Collections.Concurrent.ConcurrentQueue<IngestBatch> _free = new();
        private int _queued;
        private readonly Dictionary<WorkloadKey, WorkloadState> _workloads = new();
        private readonly Dictionary<string, string> _pathCache = new(StringComparer.Ordinal);
        private readonly List<Finding> _findings = new(4);
        private readonly List<ModelFinding> _modelFindings = new(2);
        private readonly Dictionary<WorkloadKey, WorkloadModel> _pendingModels = new();
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
        private readonly ShardShared _shared;
        private readonly Core.Health.StageHealth _stage;
        private readonly EventWatermark _watermark;
        private readonly OwnerRegistry _owners;

        // The input's time as of the last clock mark this shard processed (event clock only).
        private DateTimeOffset _lastMark;
        private Task _loop = Task.CompletedTask;

        public Shard(int index, DetectionOptions options, int maxWorkloads, IAlertPublisher alerts, DetectionMetrics metrics, TimeProvider time, ILogger logger, AlertRate rate, ShardShared shared, Core.Health.StageHealth stage, IWorkloadStateStore stateStore)
        {
            _stateStore = stateStore;
            _stage = stage;
            _rate = rate;
            _shared = shared;
            _watermark = new EventWatermark(options.EventTimeMaxLead);
            _owners = new OwnerRegistry(maxWorkloads);
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
            // Capacity in events, as configured; the queue holds batches of up to BatchSize.
            _capacity = Math.Max(1, options.ShardQueueCapacity / BatchSize);
            _queue = Channel.CreateBounded<IngestBatch>(new BoundedChannelOptions(_capacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        public Task Completion => _loop;

        /// <summary>Events waiting; read when metrics are refreshed (a shared gauge per event would contend across threads).</summary>
        public int QueueCount => Volatile.Read(ref _queued);

        public IngestBatch Rent() => _free.TryDequeue(out var batch) ? batch : new IngestBatch();

        /// <summary>One event on its own (callers that send few events); the consume loop batches through a writer.</summary>
        public ValueTask<bool> EnqueueAsync(in IngestItem item, CancellationToken ct)
        {
            var batch = Rent();
            batch.Add(item);
            return SendAsync(batch, ct);
        }

        /// <summary>
        /// The shard's workloads, read on the shard thread between two events (baselines are not thread-safe). A shard
        /// busy for longer than <paramref name="timeout"/> (training a model) is left out rather than read racily.
        /// </summary>
        public async Task<List<WorkloadSnapshot>> SnapshotAsync(TimeSpan timeout)
        {
            var tcs = new TaskCompletionSource<List<WorkloadSnapshot>>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!Post(() => tcs.TrySetResult(TakeSnapshot())))
            {
                // Stopping: once the loop has drained, no other thread touches the baselines.
                var drained = await Task.WhenAny(_loop, Task.Delay(timeout, _time)).ConfigureAwait(false) == _loop;
                return drained ? TakeSnapshot() : [];
            }

            var finished = await Task.WhenAny(tcs.Task, _loop, Task.Delay(timeout, _time)).ConfigureAwait(false);
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
            if (!Post(() =>
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

        private List<WorkloadSnapshot> TakeSnapshot() =>
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
        };
    }
}
