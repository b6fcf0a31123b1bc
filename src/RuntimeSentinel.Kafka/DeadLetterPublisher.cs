using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// What goes to the dead-letter topic for one rejected message: its bytes (the first <c>Kafka:DeadLetterMaxBytes</c>
/// of them, so a multi-MiB message can always be written), its original size, and its SHA-256 when truncated.
/// </summary>
internal readonly record struct DeadLetterPayload(byte[] Bytes, int OriginalSize, string? OriginalSha256)
{
    public bool Truncated => Bytes.Length < OriginalSize;

    public static DeadLetterPayload From(ReadOnlySpan<byte> original, int maxBytes) =>
        original.Length <= maxBytes
            ? new DeadLetterPayload(original.ToArray(), original.Length, null)
            : new DeadLetterPayload(original[..maxBytes].ToArray(), original.Length, Convert.ToHexStringLower(SHA256.HashData(original)));
}

/// <summary>
/// Writes rejected messages to <c>&lt;topic&gt;.dlq</c>: the original bytes (truncated beyond
/// <c>Kafka:DeadLetterMaxBytes</c>, with the original size and hash), the reason and source coordinates in headers.
/// The source offset is reported complete only once the dead-letter write is acknowledged: a failed write is retried
/// with back-off, never skipped. After <c>Kafka:DeadLetterRetries</c> failures the source partition is paused (the
/// consume loop reads <see cref="TakePauseRequests"/>) and reported in /readyz and
/// <c>sentinel_dead_letter_blocked_partitions</c>; retries go on, and the partition resumes once the write succeeds.
/// A crash meanwhile re-reads the message (its offset was never committed) and dead-letters it again.
/// </summary>
internal sealed partial class DeadLetterPublisher : IDisposable
{
    public const string ReasonHeader = "sentinel-dlq-reason";
    public const string CodeHeader = "sentinel-dlq-code";
    public const string FieldHeader = "sentinel-dlq-field";
    public const string SourceTopicHeader = "sentinel-source-topic";
    public const string SourcePartitionHeader = "sentinel-source-partition";
    public const string SourceOffsetHeader = "sentinel-source-offset";
    public const string TimeHeader = "sentinel-dlq-time";
    public const string OriginalSizeHeader = "sentinel-dlq-original-size";
    public const string OriginalSha256Header = "sentinel-dlq-original-sha256";
    public const string TruncatedHeader = "sentinel-dlq-truncated";

    private readonly KafkaProducer _producer;
    private readonly KafkaOptions _options;
    private readonly KafkaMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<DeadLetterPublisher> _logger;
    private readonly IngestionHealth? _health;
    // Drained by the consume loop every time round (at most 200 ms apart). Unbounded as a type, bounded by use: a request is
    // queued only when a partition changes between blocked and not (at most one pause and one resume per partition in
    // flight), so it holds at most two per source partition.
    private readonly ConcurrentQueue<(TopicPartition Partition, bool Pause)> _pauseRequests = new();
    private readonly ConcurrentDictionary<TopicPartition, int> _blocked = new();
    private readonly CancellationTokenSource _stopping = new();
    private long _pending;

    public DeadLetterPublisher(KafkaProducer producer, IOptions<KafkaOptions> options, KafkaMetrics metrics, TimeProvider time, ILogger<DeadLetterPublisher> logger, IngestionHealth? health = null)
    {
        _producer = producer;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _health = health;
    }

    /// <summary>Dead letters written or being retried, not yet acknowledged.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Source partitions paused because their dead letter cannot be written.</summary>
    public IReadOnlyCollection<TopicPartition> BlockedPartitions => _blocked.Keys.ToList();

    /// <summary>Pause (true) and resume (false) requests for the consume loop, which alone touches the consumer.</summary>
    public bool TakePauseRequest(out TopicPartition partition, out bool pause)
    {
        if (_pauseRequests.TryDequeue(out var r))
        {
            (partition, pause) = r;
            return true;
        }

        (partition, pause) = (null!, false);
        return false;
    }

    public void Publish(TopicPartitionOffset source, DecodeError error, DeadLetterPayload payload, PartitionTracker? tracker)
    {
        var reason = error.ToString();
        var headers = new Headers
        {
            { ReasonHeader, Bounded(reason) },
            { CodeHeader, Encoding.UTF8.GetBytes(error.CodeName) },
            { FieldHeader, Bounded(error.Field) },
            { SourceTopicHeader, Encoding.UTF8.GetBytes(source.Topic) },
            { SourcePartitionHeader, Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { SourceOffsetHeader, Encoding.UTF8.GetBytes(source.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
            { TimeHeader, Encoding.UTF8.GetBytes(_time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)) },
            { OriginalSizeHeader, Encoding.UTF8.GetBytes(payload.OriginalSize.ToString(CultureInfo.InvariantCulture)) },
        };
        if (payload.Truncated)
        {
            headers.Add(TruncatedHeader, "true"u8.ToArray());
            headers.Add(OriginalSha256Header, Encoding.UTF8.GetBytes(payload.OriginalSha256 ?? ""));
        }

        Interlocked.Increment(ref _pending);
        Send(new Letter(source, source.Topic + _options.DeadLetterSuffix, new Message<byte[]?, byte[]> { Value = payload.Bytes, Headers = headers }, tracker));
    }

    private void Send(Letter letter)
    {
        try
        {
            _producer.Producer.Produce(letter.Topic, letter.Message, report =>
            {
                if (report.Error.IsError)
                {
                    Failed(letter, report.Error.Reason);
                }
                else
                {
                    Delivered(letter);
                }
            });
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException or ObjectDisposedException)
        {
            // Local queue full, producer fenced, message refused locally: the same retry path as a failed delivery.
            Failed(letter, ex is KafkaException k ? k.Error.Reason : ex.Message);
        }
    }

    private void Delivered(Letter letter)
    {
        _metrics.DeadLettered.WithLabels(letter.Source.Topic).Inc();
        Interlocked.Decrement(ref _pending);
        letter.Tracker?.Complete(letter.Source.Offset.Value);
        if (letter.Blocking)
        {
            Unblock(letter.Source.TopicPartition);
            LogDeadLetterRecovered(_logger, letter.Topic, letter.Source.ToString(), letter.Attempts);
        }
    }

    private void Failed(Letter letter, string reason)
    {
        _metrics.DeadLetterFailures.WithLabels(letter.Source.Topic).Inc();
        letter.Attempts++;
        if (_stopping.IsCancellationRequested || letter.Tracker?.Revoked == true)
        {
            // Not ours any more (stopping, or the partition moved): its offset was never committed, so whoever reads
            // the partition next reads the message again and dead-letters it then.
            Interlocked.Decrement(ref _pending);
            if (letter.Blocking)
            {
                Unblock(letter.Source.TopicPartition);
            }

            return;
        }

        LogDeadLetterFailed(_logger, letter.Topic, letter.Source.ToString(), letter.Attempts, reason);
        if (letter.Attempts >= Math.Max(1, _options.DeadLetterRetries) && !letter.Blocking)
        {
            letter.Blocking = true;
            Block(letter.Source.TopicPartition, reason);
        }

        var delay = TimeSpan.FromTicks(Math.Min(_options.DeadLetterMaxBackoff.Ticks, _options.DeadLetterRetryDelay.Ticks * (1L << Math.Min(letter.Attempts - 1, 20))));
        _ = RetryLaterAsync(letter, delay);
    }

    private async Task RetryLaterAsync(Letter letter, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Decrement(ref _pending);
            return;
        }

        Send(letter);
    }

    private void Block(TopicPartition partition, string reason)
    {
        if (_blocked.AddOrUpdate(partition, 1, (_, n) => n + 1) == 1)
        {
            _pauseRequests.Enqueue((partition, true));
            LogPartitionBlocked(_logger, partition.ToString(), reason);
        }

        _metrics.DeadLetterBlocked.Set(_blocked.Count);
        _health?.SetBlocked(_blocked.Keys.Select(p => p.ToString()).ToList(), reason);
    }

    private void Unblock(TopicPartition partition)
    {
        var now = _blocked.AddOrUpdate(partition, 0, (_, n) => n - 1);
        if (now <= 0 && _blocked.TryRemove(new KeyValuePair<TopicPartition, int>(partition, now)))
        {
            _pauseRequests.Enqueue((partition, false));
        }

        _metrics.DeadLetterBlocked.Set(_blocked.Count);
        _health?.SetBlocked(_blocked.Keys.Select(p => p.ToString()).ToList(), null);
    }

    private static byte[] Bounded(string text) => Encoding.UTF8.GetBytes(text.Length > 1024 ? text[..1024] + "…" : text);

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Letter(TopicPartitionOffset source, string topic, Message<byte[]?, byte[]> message, PartitionTracker? tracker)
    {
        public TopicPartitionOffset Source { get; } = source;

        public string Topic { get; } = topic;

        public Message<byte[]?, byte[]> Message { get; } = message;

        public PartitionTracker? Tracker { get; } = tracker;

        public int Attempts { get; set; }

        public bool Blocking { get; set; }
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Could not dead-letter {Source} to {Topic} (attempt {Attempt}): {Reason}; retrying, its offset is not committed")]
    private static partial void LogDeadLetterFailed(ILogger logger, string topic, string source, int attempt, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Dead-letter topic unwritable; paused partition {Partition} until it can be written: {Reason}")]
    private static partial void LogPartitionBlocked(ILogger logger, string partition, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Dead-lettered {Source} to {Topic} after {Attempts} failed attempts; its partition resumes")]
    private static partial void LogDeadLetterRecovered(ILogger logger, string topic, string source, int attempts);
}
