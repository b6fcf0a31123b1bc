using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Everything between a consumed message and detection, on the consume thread: decoding beside it
/// (<see cref="OrderedDecoder"/>, results back in consume order), enrichment in stream order (the address map is learned
/// from every workload's events), dead-lettering what does not decode, and the batched hand-off to the shards, which
/// waits while a shard is full so backpressure reaches Kafka instead of memory. Before offsets are committed for good
/// (revoke, stop) it hands over everything consumed and waits for the alerts those events raised to be safe.
/// </summary>
/// <remarks>Not thread-safe: one instance per consume thread, like the <see cref="IIngestWriter"/> it holds.</remarks>
internal sealed partial class DetectionHandoff : IDisposable
{
    /// <summary>The oldest pending event is handed over at the latest this long after it was written.</summary>
    internal static readonly TimeSpan MaxBatchDelay = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan DecodeWait = TimeSpan.FromMilliseconds(5);

    private readonly KafkaOptions _options;
    private readonly IDetectionIngress _pipeline;

    // Handed over when a shard's batch is full, when the consumer has nothing more at the moment, and at the latest
    // MaxBatchDelay after the oldest pending event.
    private readonly IIngestWriter _writer;
    private readonly EventEnrichment _enrichment;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly KafkaMetrics _metrics;
    private readonly IngestionHealth _health;
    private readonly IAlertPublisher? _alerts;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<IDeserializer<DecodedMessage>> _createDeserializer;

    // Label lookups allocate; each topic's children are resolved once.
    private readonly Dictionary<string, Prometheus.Counter.Child[]> _consumedByTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Prometheus.Counter.Child> _bytesByTopic = new(StringComparer.Ordinal);
    private OrderedDecoder? _decoder;

    /// <param name="logger">The ingest service's logger: these lines keep the category and event ids they had inside it.</param>
    /// <param name="createDeserializer">One per decoder thread; null: the formats configured per topic.</param>
    public DetectionHandoff(
        KafkaOptions options,
        IDetectionIngress pipeline,
        EventEnrichment enrichment,
        DeadLetterPublisher deadLetters,
        KafkaMetrics metrics,
        IngestionHealth health,
        TimeProvider time,
        ILogger logger,
        IAlertPublisher? alerts = null,
        Func<IDeserializer<DecodedMessage>>? createDeserializer = null)
    {
        _options = options;
        _pipeline = pipeline;
        _writer = pipeline.CreateWriter();
        _enrichment = enrichment;
        _deadLetters = deadLetters;
        _metrics = metrics;
        _health = health;
        _time = time;
        _logger = logger;
        _alerts = alerts;
        _createDeserializer = createDeserializer ?? (() => new EventDeserializer(options.FormatOf, options.DeadLetterMaxBytes));
    }

    /// <summary>Events handed to detection so far.</summary>
    public long EventsIngested { get; private set; }

    /// <summary>Messages dead-lettered so far (undecodable, or failing on their way to detection).</summary>
    public long MessagesRejected { get; private set; }

    /// <summary>Whether consumed messages wait in the decoder or the writer (the loop then only looks for more before handing them over).</summary>
    public bool HasPending => _writer.Pending > 0 || Decoder.Pending > 0;

    private OrderedDecoder Decoder => _decoder ?? throw new InvalidOperationException("Open the hand-off first.");

    /// <summary>Starts the decoder threads; returns the decoder, which the consumer uses as its value deserializer.</summary>
    public OrderedDecoder Open()
    {
        _decoder ??= new OrderedDecoder(_options.EffectiveDecodeThreads, _createDeserializer, _options.DeadLetterMaxBytes);
        return _decoder;
    }

    /// <summary>Creates every topic's series up front, so dashboards see zeros rather than nothing.</summary>
    public void ResolveCounters(IEnumerable<string> topics)
    {
        foreach (var topic in topics)
        {
            _metrics.DeadLettered.WithLabels(topic);
            _metrics.DeadLetterFailures.WithLabels(topic);
            _ = ConsumedCounter(topic, EventKind.ProcessExec);
        }
    }

    /// <summary>Adds a consumed message (its offset already tracked on <paramref name="tracker"/>) to the open decoder batch.</summary>
    public void Add(ConsumeResult<Ignore, Ignore> result, PartitionTracker tracker) => Decoder.Add(result, tracker);

    /// <summary>Nothing more right now: decode what there is.</summary>
    public void Submit() => Decoder.Submit();

    /// <summary>Handles the decoded batches that are back, oldest first; waits for them if asked or if too many are out.</summary>
    public void TakeDecoded(bool wait, CancellationToken stoppingToken)
    {
        var decoder = Decoder;
        while (true)
        {
            if (!decoder.TryTake(wait || decoder.Saturated ? DecodeWait : TimeSpan.Zero, out var batch))
            {
                if (!decoder.Saturated)
                {
                    return;
                }

                // As many batches out as allowed: no more input until the oldest is back (memory stays bounded).
                _health.Beat();
                continue;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                HandleSafely(batch.Result(i), batch.Tracker(i), batch.Decoded(i), stoppingToken);
            }

            decoder.Return(batch);
            wait = false;
        }
    }

    /// <summary>
    /// Hands the writer's pending events over when the consumer is <paramref name="idle"/> (nothing new right now) or
    /// the oldest has waited <see cref="MaxBatchDelay"/>.
    /// </summary>
    public void FlushIfDue(bool idle, CancellationToken stoppingToken)
    {
        // Stopwatch, not the TimeProvider: IIngestWriter.PendingSince is a Stopwatch timestamp by contract.
        if (_writer.Pending > 0 && (idle || Stopwatch.GetElapsedTime(_writer.PendingSince) >= MaxBatchDelay))
        {
            FlushWriter(stoppingToken);
        }
    }

    /// <summary>
    /// Hands every consumed message to detection: decodes what is still with the decoder, then hands over the writer's
    /// pending events, waiting while a shard is full (backpressure). Before a revoke or stop, nothing stays behind.
    /// </summary>
    public void Flush(CancellationToken stoppingToken)
    {
        var decoder = Decoder;
        decoder.Submit();
        while (decoder.Pending > 0)
        {
            TakeDecoded(wait: true, stoppingToken);
        }

        FlushWriter(stoppingToken);
    }

    /// <summary>No more events will come: completes when detection processed every queued one (it is the only sender).</summary>
    public Task CompleteAsync() => _pipeline.CompleteAsync();

    /// <summary>
    /// Offsets of events that raised alerts complete only when those alerts are delivered or on disk. Before committing
    /// for good (stop, revoke), have grouped incidents emitted now and wait for that, so the next owner does not raise
    /// them again. Past the timeout their events are simply re-read there (at-least-once: duplicates, never losses).
    /// </summary>
    public void AwaitAlerts(TimeSpan timeout)
    {
        if (_pipeline.EventsAwaitingAlerts == 0 || _alerts is null)
        {
            return;
        }

        var start = _time.GetTimestamp();
        _alerts.FlushAsync(timeout).GetAwaiter().GetResult();
        while (_pipeline.EventsAwaitingAlerts > 0 && _time.GetElapsedTime(start) < timeout)
        {
            // Delivery completes the offsets from the sinks' threads and signals nothing: look again shortly.
            Thread.Sleep(10);
        }

        if (_pipeline.EventsAwaitingAlerts > 0)
        {
            LogAlertsNotSafe(_logger, _pipeline.EventsAwaitingAlerts, timeout.TotalSeconds);
        }
    }

    /// <summary>Dead-letters a message with the reason; its offset completes once the dead letter is written.</summary>
    public void Reject(TopicPartitionOffset source, PartitionTracker tracker, DecodeError error, DeadLetterPayload payload)
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

    public void Dispose() => _decoder?.Dispose();

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
            // Tracked already (when it was consumed); the dead letter completes it.
            var error = new DecodeError(DecodeErrorCode.DecoderFault, "", $"ingestion failed on this message ({ex.GetType().Name}: {ex.Message})");
            Reject(result.TopicPartitionOffset, tracker, error, decoded.Raw ?? new DeadLetterPayload([], 0, null));
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
        // Stopwatch: IngestItem.EnqueuedTimestamp is a Stopwatch timestamp by contract (detection measures latency with it).
        var item = _enrichment.Enrich(evt, tracker, result.Offset.Value, Stopwatch.GetTimestamp());
        var write = _writer.WriteAsync(item, stoppingToken);
        var accepted = write.IsCompletedSuccessfully ? write.Result : write.AsTask().GetAwaiter().GetResult();
        if (accepted)
        {
            EventsIngested++;
        }
    }

    private void FlushWriter(CancellationToken stoppingToken)
    {
        var flush = _writer.FlushAsync(stoppingToken);
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
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
        if (!_bytesByTopic.TryGetValue(topic, out var c))
        {
            c = _metrics.Bytes.WithLabels(topic);
            _bytesByTopic[topic] = c;
        }

        return c;
    }
}
