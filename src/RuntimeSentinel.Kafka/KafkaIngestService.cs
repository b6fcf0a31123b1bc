using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;

namespace RuntimeSentinel.Kafka;

/// <summary>Liveness and readiness of ingestion, read by /healthz and /readyz.</summary>
public sealed class IngestionHealth(TimeProvider time, KafkaMetrics metrics)
{
    private long _lastLoopTicks;
    private bool _faulted;
    private bool _joined;

    public bool Started { get; internal set; }

    public bool Faulted
    {
        get => _faulted;
        internal set
        {
            _faulted = value;
            metrics.Ready.Set(IsReady ? 1 : 0);
        }
    }

    public string? FaultReason { get; internal set; }

    /// <summary>Partitions currently assigned; ready means the consumer joined its group and owns some.</summary>
    public int AssignedPartitions { get; internal set; }

    public bool JoinedGroup
    {
        get => _joined;
        internal set
        {
            _joined = value;
            metrics.Ready.Set(IsReady ? 1 : 0);
        }
    }

    internal void Beat()
    {
        var now = time.GetUtcNow();
        Interlocked.Exchange(ref _lastLoopTicks, now.UtcTicks);
        metrics.LastLoop.Set(now.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Time since the consume loop last went round (a stuck loop means a stuck pipeline).</summary>
    public TimeSpan SinceLastLoop => Started ? time.GetUtcNow() - new DateTimeOffset(Interlocked.Read(ref _lastLoopTicks), TimeSpan.Zero) : TimeSpan.Zero;

    public bool IsLive => !Faulted && SinceLastLoop < TimeSpan.FromSeconds(60);

    public bool IsReady => Started && !Faulted && JoinedGroup && _blocked.Count == 0;

    private volatile IReadOnlyList<string> _blocked = [];

    /// <summary>Partitions paused because their dead letters cannot be written (not ready: the node is not consuming them).</summary>
    public IReadOnlyList<string> BlockedPartitions => _blocked;

    public string? BlockedReason { get; private set; }

    internal void SetBlocked(IReadOnlyList<string> partitions, string? reason)
    {
        _blocked = partitions;
        if (reason is not null || partitions.Count == 0)
        {
            BlockedReason = partitions.Count == 0 ? null : reason;
        }

        metrics.Ready.Set(IsReady ? 1 : 0);
    }
}

/// <summary>
/// The consume loop: one dedicated thread that polls Kafka, decodes in librdkafka's buffer, dead-letters what
/// does not decode, and hands events to detection (blocking when detection is behind, so backpressure reaches
/// Kafka instead of memory). Offsets are stored only after detection finished an event, and committed by
/// librdkafka's auto-commit, on revocation and on shutdown: at-least-once delivery.
/// Registered last, so the host stops it first; stopping drains detection and commits before closing.
/// </summary>
public sealed partial class KafkaIngestService : BackgroundService
{
    private readonly KafkaConnection _connection;
    private readonly KafkaOptions _options;
    private readonly DetectionPipeline _pipeline;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly KafkaMetrics _metrics;
    private readonly IngestionHealth _health;
    private readonly ILogger<KafkaIngestService> _logger;
    private readonly WorkloadResolver _resolver;

    // Resolved here, on the one consume thread, in stream order: the address map is learned from every workload's events.
    private readonly Detection.Network.PeerResolver _peers;
    private readonly Core.Health.StageHealth _stage;
    private readonly Dictionary<TopicPartition, PartitionTracker> _trackers = new();

    /// <summary>Set once shutdown starts: partitions assigned while leaving are not worth a state catch-up.</summary>
    private volatile bool _leaving;
    private readonly Dictionary<string, Prometheus.Counter.Child[]> _consumedByTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Prometheus.Counter.Child> _bytesByTopic = new(StringComparer.Ordinal);
    private static readonly TimeSpan StoreInterval = TimeSpan.FromMilliseconds(50);
    private volatile bool _consumeThreadStarted;
    private KafkaStateStore? _state;
    private readonly TimeSpan _checkpointInterval;
    private Task _checkpointRound = Task.CompletedTask;
    private long _lastRound = Stopwatch.GetTimestamp();
    private readonly Core.Alerts.IAlertPublisher? _alerts;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KafkaIngestService(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        IOptions<DetectionOptions> detection,
        DetectionPipeline pipeline,
        DeadLetterPublisher deadLetters,
        KafkaMetrics metrics,
        IngestionHealth health,
        ILogger<KafkaIngestService> logger,
        Core.Health.HealthRegistry? registry = null,
        Detection.Workloads.IWorkloadStateStore? state = null,
        Core.Alerts.IAlertPublisher? alerts = null)
    {
        _alerts = alerts;
        _state = state as KafkaStateStore;
        _stage = (registry ?? new Core.Health.HealthRegistry()).Register("ingest");
        _connection = connection;
        _options = options.Value;
        _pipeline = pipeline;
        _deadLetters = deadLetters;
        _metrics = metrics;
        _health = health;
        _logger = logger;
        _resolver = new WorkloadResolver(detection.Value.Cluster);
        _checkpointInterval = detection.Value.CheckpointInterval;
        _peers = new Detection.Network.PeerResolver(detection.Value.Network);
    }

    /// <summary>Events handed to detection so far.</summary>
    public long EventsIngested { get; private set; }

    public long MessagesRejected { get; private set; }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Topics must exist before anything produces (the embedded cluster would auto-create them with other
        // settings) and before the consumer subscribes; so this happens in start-up, not in the background.
        await _connection.EnsureTopicsAsync(cancellationToken).ConfigureAwait(false);

        // Checkpoints first: a workload's first event must find what it learned before this process started.
        if (_state is not null)
        {
            await _state.StartAsync(cancellationToken).ConfigureAwait(false);
            if (_state.Persistent)
            {
                _pipeline.CheckpointsDrivenByIngestion = true;
            }
            else
            {
                // Nothing to restore from after a restart: commits need not wait for checkpoints.
                _state = null;
            }
        }

        _pipeline.Start();
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (!_consumeThreadStarted)
        {
            // Stopped before the loop ran (the host can cancel ExecuteAsync before it starts): still drain detection.
            await _pipeline.CompleteAsync().ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var thread = new Thread(() => Run(stoppingToken)) { IsBackground = true, Name = "sentinel-consume" };
        _consumeThreadStarted = true;
        thread.Start();
        await _done.Task.ConfigureAwait(false);
    }

    private void Run(CancellationToken stoppingToken)
    {
        IConsumer<Ignore, DecodedMessage>? consumer = null;
        try
        {
            consumer = Build();
            consumer.Subscribe(_options.Topics);
            foreach (var topic in _options.Topics)
            {
                _metrics.DeadLettered.WithLabels(topic);
                _metrics.DeadLetterFailures.WithLabels(topic);
                _ = ConsumedCounter(topic, EventKind.ProcessExec);
            }

            _health.Started = true;
            _stage.Running();
            LogSubscribed(_logger, string.Join(", ", _options.Topics), _options.GroupId);
            var lastStore = Stopwatch.GetTimestamp();
            while (!stoppingToken.IsCancellationRequested)
            {
                _health.Beat();
                ApplyPauseRequests(consumer);
                ConsumeResult<Ignore, DecodedMessage>? result;
                try
                {
                    result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // The client could not hand over a message (a deserialization failure: the decoder is guarded, so
                    // this is defence in depth) or reports a transient error. Neither may stop ingestion: the message,
                    // if there is one, is dead-lettered and its offset advances.
                    OnConsumeError(ex);
                    result = null;
                }
                catch (KafkaException ex) when (!ex.Error.IsFatal)
                {
                    _metrics.ConsumeErrors.WithLabels(ex.Error.Code.ToString()).Inc();
                    LogKafkaError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
                    result = null;
                }

                if (result is not null)
                {
                    HandleSafely(result, stoppingToken);
                }

                // Storing offsets costs a lock per partition and a native call; every 50 ms is plenty for a
                // 1 s auto-commit and keeps it off the per-message path.
                var now = Stopwatch.GetTimestamp();
                if (result is null || Stopwatch.GetElapsedTime(lastStore, now) >= StoreInterval)
                {
                    StartCheckpointRound(now);
                    StoreCompleted(consumer);
                    lastStore = now;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping while blocked on a full shard queue.
        }
        catch (Exception ex)
        {
            // Fatal Kafka errors and anything unexpected: stop the host; Kubernetes restarts the pod.
            var reason = ex is KafkaException k ? k.Error.Reason : ex.Message;
            _health.Faulted = true;
            _health.FaultReason = reason;
            _stage.Faulted(reason);
            LogFatal(_logger, ex, reason);
            Shutdown(consumer);
            _done.TrySetException(ex);
            return;
        }

        Shutdown(consumer);
        _stage.Stopped();
        _done.TrySetResult();
    }

    private void OnConsumeError(ConsumeException ex)
    {
        _metrics.ConsumeErrors.WithLabels(ex.Error.Code.ToString()).Inc();
        var record = ex.ConsumerRecord;
        if (ex.Error.Code is not (ErrorCode.Local_ValueDeserialization or ErrorCode.Local_KeyDeserialization) || record?.TopicPartitionOffset is null)
        {
            LogKafkaError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
            return;
        }

        var tracker = TrackerFor(record.TopicPartition);
        tracker.Track(record.Offset.Value);
        var reason = ex.InnerException?.Message ?? ex.Error.Reason;
        Reject(record.TopicPartitionOffset, tracker, new DecodeError(DecodeErrorCode.DecoderFault, "", "deserialization failed: " + reason), DeadLetterPayload.From(record.Message?.Value ?? [], _options.DeadLetterMaxBytes));
    }

    /// <summary>Handles one message; whatever it makes fail is dead-lettered with the reason, never fatal.</summary>
    private void HandleSafely(ConsumeResult<Ignore, DecodedMessage> result, CancellationToken stoppingToken)
    {
        try
        {
            Handle(result, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Tracked already (Handle tracks first); the dead letter completes it.
            var error = new DecodeError(DecodeErrorCode.DecoderFault, "", $"ingestion failed on this message ({ex.GetType().Name}: {ex.Message})");
            Reject(result.TopicPartitionOffset, TrackerFor(result.TopicPartition), error, result.Message?.Value.Raw ?? new DeadLetterPayload([], 0, null));
        }
    }

    private void Reject(TopicPartitionOffset source, PartitionTracker tracker, DecodeError error, DeadLetterPayload payload)
    {
        MessagesRejected++;
        _metrics.DecodeFailures.WithLabels(error.CodeName).Inc();
        if (MessagesRejected <= 10 || MessagesRejected % 1000 == 0)
        {
            // Rate-limited: a stream of garbage must not turn into a stream of log lines (the metric counts all).
            LogRejected(_logger, source.ToString(), error.ToString(), MessagesRejected);
        }

        _deadLetters.Publish(source, error, payload, tracker);
    }

    private void ApplyPauseRequests(IConsumer<Ignore, DecodedMessage> consumer)
    {
        while (_deadLetters.TakePauseRequest(out var partition, out var pause))
        {
            try
            {
                if (!_trackers.ContainsKey(partition))
                {
                    continue; // revoked meanwhile: the new owner starts from the last commit
                }

                if (pause)
                {
                    consumer.Pause([partition]);
                }
                else
                {
                    consumer.Resume([partition]);
                }
            }
            catch (KafkaException ex)
            {
                LogKafkaError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
            }
        }
    }

    private void Handle(ConsumeResult<Ignore, DecodedMessage> result, CancellationToken stoppingToken)
    {
        var tracker = TrackerFor(result.TopicPartition);
        tracker.Track(result.Offset.Value);
        var decoded = result.Message.Value;
        BytesCounter(result.Topic).Inc(decoded.Size);
        if (decoded.Status == DecodeStatus.Ignored)
        {
            // Valid input without container behaviour (a sensor's own metrics, API-audit records): counted and committed.
            _metrics.Ignored.WithLabels(result.Topic, decoded.Note ?? "ignored").Inc();
            tracker.Complete(result.Offset.Value);
            return;
        }

        if (!decoded.Ok)
        {
            Reject(result.TopicPartitionOffset, tracker, decoded.Error, decoded.Raw ?? new DeadLetterPayload([], 0, null));
            return;
        }

        var evt = decoded.Event;
        var key = _resolver.Resolve(evt.Workload);
        ConsumedCounter(result.Topic, evt.Kind).Inc();
        var peer = _peers.Observe(evt, key);
        var item = new IngestItem(evt, key, tracker, result.Offset.Value, Stopwatch.GetTimestamp(), peer);
        var enqueue = _pipeline.EnqueueAsync(item, stoppingToken);
        var accepted = enqueue.IsCompletedSuccessfully ? enqueue.Result : enqueue.AsTask().GetAwaiter().GetResult();
        if (accepted)
        {
            EventsIngested++;
        }
    }

    private Prometheus.Counter.Child ConsumedCounter(string topic, EventKind kind)
    {
        if (!_consumedByTopic.TryGetValue(topic, out var byKind))
        {
            byKind = Enum.GetValues<EventKind>().Select(k => _metrics.Consumed.WithLabels(topic, k.ToWire())).ToArray();
            _consumedByTopic[topic] = byKind;
        }

        return byKind[(int)kind];
    }

    private Prometheus.Counter.Child BytesCounter(string topic)
    {
        // Label lookups allocate; the consume loop resolves each topic's child once.
        if (!_bytesByTopic.TryGetValue(topic, out var c))
        {
            c = _metrics.Bytes.WithLabels(topic);
            _bytesByTopic[topic] = c;
        }

        return c;
    }

    private PartitionTracker TrackerFor(TopicPartition tp)
    {
        if (!_trackers.TryGetValue(tp, out var t))
        {
            t = new PartitionTracker(tp);
            _trackers[tp] = t;
        }

        return t;
    }

    /// <summary>
    /// Every <c>Detection:CheckpointInterval</c>: note how far each partition is processed, checkpoint every changed
    /// workload, and once that is written let commits advance to the noted positions. Events processed before the
    /// round began are in its checkpoints, so a crash never commits past what the restored baselines have seen.
    /// </summary>
    private void StartCheckpointRound(long now)
    {
        if (_state is null || _checkpointInterval <= TimeSpan.Zero || !_checkpointRound.IsCompleted || Stopwatch.GetElapsedTime(_lastRound, now) < _checkpointInterval)
        {
            return;
        }

        _lastRound = now;
        var covered = _trackers.Values.Select(t => (Tracker: t, Next: t.Completed)).Where(x => x.Next >= 0).ToList();
        _checkpointRound = _pipeline.CheckpointAsync(TimeSpan.FromSeconds(30)).ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully && t.Result)
                {
                    foreach (var (tracker, next) in covered)
                    {
                        tracker.AllowUpTo(next);
                    }
                }
                else
                {
                    _metrics.Commits.WithLabels("checkpoint_pending").Inc();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>After a synchronous checkpoint (revoke, stop): everything processed so far may be committed.</summary>
    private static void AllowAll(IEnumerable<PartitionTracker> trackers)
    {
        foreach (var t in trackers)
        {
            t.AllowUpTo(long.MaxValue);
        }
    }

    private void StoreCompleted(IConsumer<Ignore, DecodedMessage> consumer)
    {
        foreach (var t in _trackers.Values)
        {
            if (!t.Revoked && t.TryTakeCommittable(out var position))
            {
                try
                {
                    consumer.StoreOffset(position);
                }
                catch (KafkaException ex)
                {
                    // The partition was revoked between completion and store; its new owner re-reads from the last commit.
                    LogStoreFailed(_logger, position.ToString(), ex.Error.Reason);
                }
            }
        }
    }

    private IConsumer<Ignore, DecodedMessage> Build()
    {
        var config = _connection.Configure(new ConsumerConfig
        {
            GroupId = _options.GroupId,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 1000,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = _options.AutoOffsetReset == "latest" ? AutoOffsetReset.Latest : AutoOffsetReset.Earliest,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            HeartbeatIntervalMs = _options.HeartbeatIntervalMs,
            MaxPollIntervalMs = _options.MaxPollIntervalMs,
            StatisticsIntervalMs = _options.StatisticsIntervalMs,
            EnablePartitionEof = false,
        });

        return new ConsumerBuilder<Ignore, DecodedMessage>(config)
            .SetValueDeserializer(new EventDeserializer(_options.FormatOf, _options.DeadLetterMaxBytes))
            .SetErrorHandler((_, e) =>
            {
                _metrics.KafkaErrors.WithLabels(e.Code.ToString()).Inc();
                LogKafkaError(_logger, e.Code.ToString(), e.Reason);
            })
            .SetStatisticsHandler((_, json) => UpdateLag(json))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                // Their previous owner checkpointed on revoke, just before: read that before their first event.
                if (partitions.Count > 0 && !_leaving)
                {
                    _state?.CatchUp(TimeSpan.FromSeconds(30));
                }

                foreach (var tp in partitions)
                {
                    _trackers[tp] = new PartitionTracker(tp, checkpointed: _state is not null);
                }

                _health.JoinedGroup = true;
                _health.AssignedPartitions += partitions.Count;
                _metrics.Assigned.Set(_health.AssignedPartitions);
                _metrics.Rebalances.WithLabels("assigned").Inc();
                LogAssigned(_logger, partitions.Count, string.Join(",", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
            })
            .SetPartitionsRevokedHandler((c, partitions) =>
            {
                // Checkpoint the workloads whose events we are giving up, so the next owner restores them rather than
                // learning again; then commit what detection finished, so it does not redo that; in-flight events of
                // those partitions will be redone there (at-least-once).
                AwaitAlerts(TimeSpan.FromSeconds(5));
                if (_state is not null)
                {
                    if (_pipeline.CheckpointAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult())
                    {
                        AllowAll(partitions.Select(p => _trackers.GetValueOrDefault(p.TopicPartition)).OfType<PartitionTracker>());
                    }
                    else
                    {
                        // Not committed past the last written checkpoint: the next owner replays into what it restores.
                        LogCheckpointOnRevokeTimedOut(_logger);
                    }
                }

                CommitSafely(c, Release(partitions, "revoked"));
            })
            // A statement lambda on purpose: an expression returning the list would bind Confluent's Func overload,
            // whose return value replaces the assignment, and the consumer would stop getting partitions.
            .SetPartitionsLostHandler((_, partitions) => { Release(partitions, "lost"); })
            .Build();
    }

    /// <summary>
    /// Offsets of events that raised alerts complete only when those alerts are delivered or on disk. Before committing
    /// for good (stop, revoke), have grouped incidents emitted now and wait for that, so the next owner does not raise
    /// them again. Past the timeout their events are simply re-read there (at-least-once: duplicates, never losses).
    /// </summary>
    private void AwaitAlerts(TimeSpan timeout)
    {
        if (_pipeline.EventsAwaitingAlerts == 0 || _alerts is null)
        {
            return;
        }

        var sw = Stopwatch.StartNew();
        _alerts.FlushAsync(timeout).GetAwaiter().GetResult();
        while (_pipeline.EventsAwaitingAlerts > 0 && sw.Elapsed < timeout)
        {
            Thread.Sleep(10);
        }

        if (_pipeline.EventsAwaitingAlerts > 0)
        {
            LogAlertsNotSafe(_logger, _pipeline.EventsAwaitingAlerts, timeout.TotalSeconds);
        }
    }

    /// <summary>Stops tracking partitions this member no longer owns; returns their committable positions.</summary>
    private List<TopicPartitionOffset> Release(List<TopicPartitionOffset> partitions, string type)
    {
        var committable = new List<TopicPartitionOffset>();
        foreach (var tpo in partitions)
        {
            if (_trackers.Remove(tpo.TopicPartition, out var t))
            {
                t.Revoked = true;
                if (t.TryTakeCommittable(out var position))
                {
                    committable.Add(position);
                }
            }
        }

        _health.AssignedPartitions = Math.Max(0, _health.AssignedPartitions - partitions.Count);
        _metrics.Assigned.Set(_health.AssignedPartitions);
        _metrics.Rebalances.WithLabels(type).Inc();
        LogRevoked(_logger, partitions.Count);
        return committable;
    }

    private void Shutdown(IConsumer<Ignore, DecodedMessage>? consumer)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            // Stop order: no more input; let detection finish what it holds; make its alerts safe; store and commit;
            // leave the group.
            _leaving = true;
            _pipeline.CompleteAsync().GetAwaiter().GetResult();
            AwaitAlerts(TimeSpan.FromSeconds(10));
            if (_state is not null && _pipeline.CheckpointAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult())
            {
                // Again, now that the alerts are safe (the checkpoint then holds their cooldowns too); it covers
                // everything processed, so everything may be committed.
                AllowAll(_trackers.Values);
            }
            if (consumer is null)
            {
                return;
            }

            StoreCompleted(consumer);
            CommitOnLeaving(consumer, _options.CloseTimeout / 2);
            if (!ConsumerClose.CloseWithin(consumer, _options.CloseTimeout))
            {
                LogCloseTimedOut(_logger, _options.CloseTimeout.TotalSeconds);
            }

            consumer = null; // closed and disposed, or left to the process exit
            LogStopped(_logger, EventsIngested, MessagesRejected, sw.ElapsedMilliseconds);
        }
        catch (Exception ex)
        {
            LogShutdownError(_logger, ex);
        }
        finally
        {
            consumer?.Dispose();
        }
    }

    /// <summary>
    /// A member that stops while another member's join or leave is being settled is refused its commit
    /// (rebalance in progress, stale generation). Rather than leave the next owner to redo those events, poll the
    /// group until that rebalance is through and commit again, within the budget.
    /// </summary>
    private void CommitOnLeaving(IConsumer<Ignore, DecodedMessage> consumer, TimeSpan budget)
    {
        var sw = Stopwatch.StartNew();
        while (CommitSafely(consumer, []) is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration && sw.Elapsed < budget)
        {
            try
            {
                // Polled only to drive the group protocol: a message returned now is not processed, and its offset is
                // never stored, so whoever owns its partition next reads it.
                consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException)
            {
            }

            StoreCompleted(consumer);
        }
    }

    private ErrorCode CommitSafely(IConsumer<Ignore, DecodedMessage> consumer, List<TopicPartitionOffset> offsets)
    {
        try
        {
            if (offsets.Count > 0)
            {
                consumer.Commit(offsets);
            }
            else
            {
                consumer.Commit(); // everything stored so far
            }

            _metrics.Commits.WithLabels("ok").Inc();
            return ErrorCode.NoError;
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing new to commit.
            return ErrorCode.NoError;
        }
        catch (KafkaException ex)
        {
            _metrics.Commits.WithLabels("failed").Inc();
            LogCommitFailed(_logger, ex.Error.Reason);
            return ex.Error.Code;
        }
    }

    private void UpdateLag(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("topics", out var topics))
            {
                return;
            }

            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions))
                {
                    continue;
                }

                foreach (var p in partitions.EnumerateObject())
                {
                    // librdkafka reports an internal "-1" partition, and -1 lag before the first fetch; skip both.
                    if (p.Name == "-1" || !p.Value.TryGetProperty("consumer_lag_stored", out var lagEl) || !lagEl.TryGetInt64(out var lag))
                    {
                        continue;
                    }

                    // What detection has still to do: the partition's end minus what it finished. Commits wait for
                    // checkpoints, so the stored position trails by up to a checkpoint interval and is no measure of it.
                    if (int.TryParse(p.Name, System.Globalization.CultureInfo.InvariantCulture, out var partition)
                        && _trackers.TryGetValue(new TopicPartition(topic.Name, partition), out var tracker) && tracker.Completed >= 0
                        && p.Value.TryGetProperty("ls_offset", out var endEl) && endEl.TryGetInt64(out var end) && end >= 0)
                    {
                        lag = Math.Max(0, end - tracker.Completed);
                    }

                    if (lag < 0)
                    {
                        continue;
                    }

                    _metrics.Lag.WithLabels(topic.Name, p.Name).Set(lag);
                }
            }
        }
        catch (JsonException)
        {
            // Statistics are best-effort; a malformed report only delays the lag gauge.
        }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Consuming {Topics} as group {Group}")]
    private static partial void LogSubscribed(ILogger logger, string topics, string group);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Assigned {Count} partitions: {Partitions}")]
    private static partial void LogAssigned(ILogger logger, int count, string partitions);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Revoked {Count} partitions")]
    private static partial void LogRevoked(ILogger logger, int count);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Rejected {Source}: {Reason}; sent to dead-letter topic ({Total} rejected so far)")]
    private static partial void LogRejected(ILogger logger, string source, string reason, long total);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Critical, Message = "Ingestion stopped by an unrecoverable error: {Reason}")]
    private static partial void LogFatal(ILogger logger, Exception ex, string reason);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Debug, Message = "Could not store offset {Position}: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string position, string reason);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Offset commit failed: {Reason}")]
    private static partial void LogCommitFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "Ingestion stopped: {Events} events ingested, {Rejected} rejected; drained and committed in {Ms} ms")]
    private static partial void LogStopped(ILogger logger, long events, long rejected, long ms);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning, Message = "{Events} events' alerts not delivered or spilled within {Seconds} s; their offsets stay uncommitted and they will be processed again")]
    private static partial void LogAlertsNotSafe(ILogger logger, long events, double seconds);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Warning, Message = "Checkpoints on revoke not confirmed within 10 s; the next owner may learn some workloads again")]
    private static partial void LogCheckpointOnRevokeTimedOut(ILogger logger);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "The consumer did not leave its group within {Seconds} s (a rebalance in progress); offsets are committed, the coordinator will expire the member")]
    private static partial void LogCloseTimedOut(ILogger logger, double seconds);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Error, Message = "Error while stopping ingestion")]
    private static partial void LogShutdownError(ILogger logger, Exception ex);
}
