using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The consume loop: one dedicated thread that polls Kafka and dispatches what it gets. Messages go to the
/// <see cref="DetectionHandoff"/> (decoding, dead letters, the hand-off to detection with backpressure), their offsets to
/// the <see cref="PartitionAssignments"/> (tracked, stored, committed), and every round the
/// <see cref="CheckpointRounds"/> may let commits advance. Offsets are stored only after detection finished an event,
/// and committed by librdkafka's auto-commit, on revocation and on shutdown: at-least-once delivery.
/// Registered last, so the host stops it first; stopping completes detection (it is the only sender) and commits before
/// closing, then detection's own service and alert delivery stop.
/// </summary>
public sealed partial class KafkaIngestService : BackgroundService
{
    /// <summary>
    /// Storing offsets costs a lock per partition and a native call; every 50 ms is plenty for a 1 s auto-commit and
    /// keeps it off the per-message path.
    /// </summary>
    private static readonly TimeSpan StoreInterval = TimeSpan.FromMilliseconds(50);

    private readonly KafkaConnection _connection;
    private readonly KafkaOptions _options;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly KafkaMetrics _metrics;
    private readonly IngestionHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<KafkaIngestService> _logger;
    private readonly Core.Health.StageHealth _stage;
    private readonly DetectionHandoff _handoff;
    private readonly PartitionAssignments _assignments;
    private readonly CheckpointRounds _checkpoints;
    private readonly ConsumerLag _lag;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private KafkaStateStore? _state;
    private volatile bool _consumeThreadStarted;

    /// <summary>Set once shutdown starts: partitions assigned while leaving are not worth a state catch-up.</summary>
    private volatile bool _leaving;

    // Internal: its collaborators are internal; the container builds it through AddSentinelKafka's factory.
    internal KafkaIngestService(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        IDetectionIngress pipeline,
        EventEnrichment enrichment,
        DeadLetterPublisher deadLetters,
        KafkaMetrics metrics,
        IngestionHealth health,
        ILogger<KafkaIngestService> logger,
        TimeProvider? time = null,
        Core.Health.HealthRegistry? registry = null,
        IWorkloadStateStore? state = null,
        Core.Alerts.IAlertPublisher? alerts = null)
    {
        _state = state as KafkaStateStore;
        _stage = (registry ?? new Core.Health.HealthRegistry()).Register("ingest");
        _connection = connection;
        _options = options.Value;
        _deadLetters = deadLetters;
        _metrics = metrics;
        _health = health;
        _time = time ?? TimeProvider.System;
        _logger = logger;
        _handoff = new DetectionHandoff(_options, pipeline, enrichment, deadLetters, metrics, health, _time, logger, alerts);
        _assignments = new PartitionAssignments(metrics, health, _time, logger);
        _checkpoints = new CheckpointRounds(pipeline, metrics, _time);
        _lag = new ConsumerLag(metrics, _assignments);
    }

    /// <summary>Events handed to detection so far.</summary>
    public long EventsIngested => _handoff.EventsIngested;

    /// <summary>Messages dead-lettered so far.</summary>
    public long MessagesRejected => _handoff.MessagesRejected;

    /// <summary>
    /// Messages the consumer has handed over so far, whatever became of them (events, dead letters, ignored records):
    /// how far ingestion has read, for a producer in this process that must not outrun it (replay into the embedded cluster).
    /// </summary>
    public long MessagesRead => Interlocked.Read(ref _read);

    /// <summary>
    /// Times a partition's position fell out of the retained log and was reset (<c>auto.offset.reset</c>): the messages
    /// between were never read.
    /// </summary>
    public long OffsetResets => Interlocked.Read(ref _offsetResets);

    private long _read;
    private long _offsetResets;

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
                _checkpoints.Enable();
                _assignments.Checkpointed = true;
            }
            else
            {
                // Nothing to restore from after a restart: commits need not wait for checkpoints.
                _state = null;
            }
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (!_consumeThreadStarted)
        {
            // Stopped before the loop ran (the host can cancel ExecuteAsync before it starts): still drain detection.
            await _handoff.CompleteAsync().ConfigureAwait(false);
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
        IConsumer<Ignore, Ignore>? consumer = null;
        try
        {
            consumer = Build(_handoff.Open());
            consumer.Subscribe(_options.Topics);
            _handoff.ResolveCounters(_options.Topics);
            foreach (var topic in _options.Topics)
            {
                // Present at 0 from the start: a rule on increase() sees the first reset.
                _metrics.OffsetResets.WithLabels(topic);
            }

            _health.Started = true;
            _stage.Running();
            LogSubscribed(_logger, string.Join(", ", _options.Topics), _options.GroupId);
            var lastStore = _time.GetTimestamp();
            while (!stoppingToken.IsCancellationRequested)
            {
                _health.Beat();
                ApplyPauseRequests(consumer);
                var result = Poll(consumer);
                if (result is not null)
                {
                    // Tracked now, in offset order; completed once detection finished it (or it was dead-lettered).
                    var tracker = _assignments.TrackerFor(result.TopicPartition);
                    tracker.Track(result.Offset.Value);
                    _handoff.Add(result, tracker);
                    Interlocked.Increment(ref _read);
                }
                else
                {
                    _handoff.Submit();
                }

                // Decoded batches come back in the order they went out; wait for them only when there is nothing new to
                // read or as many are out as the decoder threads can work on.
                _handoff.TakeDecoded(result is null, stoppingToken);
                _handoff.FlushIfDue(result is null, stoppingToken);
                var now = _time.GetTimestamp();
                if (result is null || _time.GetElapsedTime(lastStore, now) >= StoreInterval)
                {
                    _checkpoints.StartIfDue(now, _assignments.Trackers);
                    _assignments.StoreCompleted(consumer);
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
            _handoff.Dispose();
            _done.TrySetException(ex);
            return;
        }

        Shutdown(consumer);
        _handoff.Dispose();
        _stage.Stopped();
        _done.TrySetResult();
    }

    /// <summary>The next message, or null when there is none right now or the client reported an error that must not stop ingestion.</summary>
    private ConsumeResult<Ignore, Ignore>? Poll(IConsumer<Ignore, Ignore> consumer)
    {
        try
        {
            // With events pending, only look: if nothing is there right now they are handed over before waiting.
            return consumer.Consume(_handoff.HasPending ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200));
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            // The client could not hand over a message (a deserialization failure: the decoder is guarded, so
            // this is defence in depth) or reports a transient error. Neither may stop ingestion: the message,
            // if there is one, is dead-lettered and its offset advances.
            OnConsumeError(ex);
            return null;
        }
        catch (KafkaException ex) when (!ex.Error.IsFatal)
        {
            _metrics.ConsumeErrors.WithLabels(ex.Error.Code.ToString()).Inc();
            LogKafkaError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
            return null;
        }
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

        var tracker = _assignments.TrackerFor(record.TopicPartition);
        tracker.Track(record.Offset.Value);
        Interlocked.Increment(ref _read);
        var reason = ex.InnerException?.Message ?? ex.Error.Reason;
        _handoff.Reject(record.TopicPartitionOffset, tracker, new DecodeError(DecodeErrorCode.DecoderFault, "", "deserialization failed: " + reason), DeadLetterPayload.From(record.Message?.Value ?? [], _options.DeadLetterMaxBytes));
    }

    /// <summary>Pauses and resumes partitions whose dead letters cannot be written; only this thread may touch the consumer.</summary>
    private void ApplyPauseRequests(IConsumer<Ignore, Ignore> consumer)
    {
        while (_deadLetters.TakePauseRequest(out var partition, out var pause))
        {
            try
            {
                if (!_assignments.Owns(partition))
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

    private IConsumer<Ignore, Ignore> Build(OrderedDecoder decoder)
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
            FetchQueueBackoffMs = _options.FetchQueueBackoffMs,
            FetchWaitMaxMs = _options.FetchWaitMaxMs ?? (_connection.IsEmbedded ? KafkaOptions.EmbeddedFetchWaitMaxMs : null),
            EnablePartitionEof = false,
        });

        return new ConsumerBuilder<Ignore, Ignore>(config)
            .SetValueDeserializer(decoder)
            .SetErrorHandler((_, e) =>
            {
                _metrics.KafkaErrors.WithLabels(e.Code.ToString()).Inc();
                LogKafkaError(_logger, e.Code.ToString(), e.Reason);
            })
            .SetStatisticsHandler((_, json) => _lag.Report(json))
            .SetLogHandler((_, m) => OnClientLog(m))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                // Their previous owner checkpointed on revoke, just before: read that before their first event.
                if (partitions.Count > 0 && !_leaving)
                {
                    _state?.CatchUp(TimeSpan.FromSeconds(30));
                }

                _assignments.Assign(partitions);
            })
            .SetPartitionsRevokedHandler(OnRevoked)
            // A statement lambda on purpose: an expression returning the list would bind Confluent's Func overload,
            // whose return value replaces the assignment, and the consumer would stop getting partitions.
            .SetPartitionsLostHandler((_, partitions) => { _assignments.Release(partitions, "lost"); })
            .Build();
    }

    /// <summary>
    /// The client's own log lines, into the host's logging (librdkafka would print them raw on stderr). An offset reset
    /// is singled out: retention overtook the consumer (or a committed offset was no longer there) and the messages in
    /// between are skipped, which is data loss an operator must see in metrics, not only in a log line.
    /// </summary>
    private void OnClientLog(LogMessage message)
    {
        if (message.Facility == "OFFSET" && message.Message.Contains("offset reset", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _offsetResets);
            _metrics.OffsetResets.WithLabels(TopicOf(message.Message, _options.Topics)).Inc();
            LogOffsetReset(_logger, message.Message);
            return;
        }

        LogClient(_logger, message.LevelAs(LogLevelType.MicrosoftExtensionsLogging) switch
        {
            0 => LogLevel.Trace,
            1 => LogLevel.Debug,
            2 => LogLevel.Information,
            3 => LogLevel.Warning,
            4 => LogLevel.Error,
            _ => LogLevel.Critical,
        }, message.Facility, message.Message);
    }

    /// <summary>
    /// The subscribed topic a client line names ("[thrd:main]: topic [partition]: ..."), else "other": the metric's label
    /// stays bounded.
    /// </summary>
    internal static string TopicOf(string line, IReadOnlyList<string> topics)
    {
        foreach (var topic in topics)
        {
            var at = line.IndexOf(topic + " [", StringComparison.Ordinal);
            if (at == 0 || (at > 0 && line[at - 1] == ' '))
            {
                return topic;
            }
        }

        return "other";
    }

    /// <summary>
    /// Checkpoint the workloads whose events we are giving up, so the next owner restores them rather than learning
    /// again; then commit what detection finished, so it does not redo that; in-flight events of those partitions will
    /// be redone there (at-least-once).
    /// </summary>
    private void OnRevoked(IConsumer<Ignore, Ignore> consumer, List<TopicPartitionOffset> partitions)
    {
        _handoff.Flush(CancellationToken.None);
        _handoff.AwaitAlerts(TimeSpan.FromSeconds(5));
        if (_checkpoints.Enabled)
        {
            if (_checkpoints.CheckpointNow(TimeSpan.FromSeconds(10)))
            {
                _assignments.AllowAll(partitions);
            }
            else
            {
                // Not committed past the last written checkpoint: the next owner replays into what it restores.
                LogCheckpointOnRevokeTimedOut(_logger);
            }
        }

        _assignments.Commit(consumer, _assignments.Release(partitions, "revoked"));
    }

    private void Shutdown(IConsumer<Ignore, Ignore>? consumer)
    {
        var start = _time.GetTimestamp();
        try
        {
            // Stop order: no more input; let detection finish what it holds; make its alerts safe; store and commit;
            // leave the group.
            _leaving = true;
            _handoff.Flush(CancellationToken.None);
            _handoff.CompleteAsync().GetAwaiter().GetResult();
            _handoff.AwaitAlerts(TimeSpan.FromSeconds(10));
            if (_checkpoints.CheckpointNow(TimeSpan.FromSeconds(10)))
            {
                // Again, now that the alerts are safe (the checkpoint then holds their cooldowns too); it covers
                // everything processed, so everything may be committed.
                _assignments.AllowAll();
            }

            if (consumer is null)
            {
                return;
            }

            _assignments.StoreCompleted(consumer);
            _assignments.CommitOnLeaving(consumer, _options.CloseTimeout / 2);
            if (!ConsumerClose.CloseWithin(consumer, _options.CloseTimeout))
            {
                LogCloseTimedOut(_logger, _options.CloseTimeout.TotalSeconds);
            }

            consumer = null; // closed and disposed, or left to the process exit
            LogStopped(_logger, EventsIngested, MessagesRejected, (long)_time.GetElapsedTime(start).TotalMilliseconds);
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
}
