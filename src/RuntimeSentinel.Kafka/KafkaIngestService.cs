using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The consume loop: one dedicated thread that polls Kafka, copies each message to decoder threads and takes the
/// results back in stream order (<see cref="OrderedDecoder"/>), dead-letters what does not decode, and hands events to detection (blocking when detection is behind, so backpressure reaches
/// Kafka instead of memory). Offsets are stored only after detection finished an event, and committed by
/// librdkafka's auto-commit, on revocation and on shutdown: at-least-once delivery.
/// Registered last, so the host stops it first; stopping completes detection (it is the only sender) and commits before
/// closing, then detection's own service and alert delivery stop.
/// </summary>
public sealed partial class KafkaIngestService : BackgroundService
{
    private readonly KafkaConnection _connection;
    private readonly KafkaOptions _options;
    private readonly IDetectionIngress _pipeline;

    // The consume thread's batched hand-off to the shards: handed over when a shard's batch is full, when the consumer
    // has nothing more at the moment, and at the latest MaxBatchDelay after the oldest pending event.
    private readonly IIngestWriter _writer;
    private static readonly TimeSpan MaxBatchDelay = TimeSpan.FromMilliseconds(5);
    private readonly DeadLetterPublisher _deadLetters;
    private readonly KafkaMetrics _metrics;
    private readonly IngestionHealth _health;
    private readonly ILogger<KafkaIngestService> _logger;

    // Enriched here, on the one consume thread, in stream order: the address map is learned from every workload's events.
    private readonly EventEnrichment _enrichment;
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
    private OrderedDecoder _decoder = null!;

    public KafkaIngestService(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        IDetectionIngress pipeline,
        EventEnrichment enrichment,
        DeadLetterPublisher deadLetters,
        KafkaMetrics metrics,
        IngestionHealth health,
        ILogger<KafkaIngestService> logger,
        Core.Health.HealthRegistry? registry = null,
        IWorkloadStateStore? state = null,
        Core.Alerts.IAlertPublisher? alerts = null)
    {
        _alerts = alerts;
        _state = state as KafkaStateStore;
        _stage = (registry ?? new Core.Health.HealthRegistry()).Register("ingest");
        _connection = connection;
        _options = options.Value;
        _pipeline = pipeline;
        _writer = pipeline.CreateWriter();
        _deadLetters = deadLetters;
        _metrics = metrics;
        _health = health;
        _logger = logger;
        _checkpointInterval = pipeline.CheckpointInterval;
        _enrichment = enrichment;
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
                _pipeline.DriveCheckpoints();
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
        IConsumer<Ignore, Ignore>? consumer = null;
        _decoder = new OrderedDecoder(_options.EffectiveDecodeThreads, () => new EventDeserializer(_options.FormatOf, _options.DeadLetterMaxBytes), _options.DeadLetterMaxBytes);
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
                ConsumeResult<Ignore, Ignore>? result;
                try
                {
                    // With events pending, only look: if nothing is there right now they are handed over before waiting.
                    result = consumer.Consume(_writer.Pending > 0 || _decoder.Pending > 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200));
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
                    // Tracked now, in offset order; completed once detection finished it (or it was dead-lettered).
                    var tracker = TrackerFor(result.TopicPartition);
                    tracker.Track(result.Offset.Value);
                    _decoder.Add(result, tracker);
                }
                else
                {
                    _decoder.Submit(); // nothing more right now: decode what there is
                }

                // Decoded batches come back in the order they went out; wait for them only when there is nothing new to
                // read or as many are out as the decoder threads can work on.
                TakeDecoded(result is null, stoppingToken);
                var now = Stopwatch.GetTimestamp();
                if (_writer.Pending > 0 && (result is null || Stopwatch.GetElapsedTime(_writer.PendingSince, now) >= MaxBatchDelay))
                {
                    FlushWriter(stoppingToken);
                }

                // Storing offsets costs a lock per partition and a native call; every 50 ms is plenty for a
                // 1 s auto-commit and keeps it off the per-message path.
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
            _decoder.Dispose();
            _done.TrySetException(ex);
            return;
        }

        Shutdown(consumer);
        _decoder.Dispose();
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
    private void HandleSafely(ConsumeResult<Ignore, Ignore> result, PartitionTracker tracker, in DecodedMessage decoded, CancellationToken stoppingToken)
    {
        if (tracker.Revoked)
        {
            // Its partition was lost while the message was with the decoder: the new owner reads it again.
            return;
        }

        try
        {
            Handle(result, tracker, decoded, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Tracked already (Handle tracks first); the dead letter completes it.
            var error = new DecodeError(DecodeErrorCode.DecoderFault, "", $"ingestion failed on this message ({ex.GetType().Name}: {ex.Message})");
            Reject(result.TopicPartitionOffset, tracker, error, decoded.Raw ?? new DeadLetterPayload([], 0, null));
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

    private void ApplyPauseRequests(IConsumer<Ignore, Ignore> consumer)
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

    /// <summary>Handles one decoded message with the tracker its offset was tracked on when it was consumed.</summary>
    private void Handle(ConsumeResult<Ignore, Ignore> result, PartitionTracker tracker, in DecodedMessage decoded, CancellationToken stoppingToken)
    {
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
        ConsumedCounter(result.Topic, evt.Kind).Inc();
        var item = _enrichment.Enrich(evt, tracker, result.Offset.Value, Stopwatch.GetTimestamp());
        var write = _writer.WriteAsync(item, stoppingToken);
        var accepted = write.IsCompletedSuccessfully ? write.Result : write.AsTask().GetAwaiter().GetResult();
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
}
