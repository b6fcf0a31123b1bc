namespace RuntimeSentinel.Kafka;

/// <summary>Kafka connection, topics and consumer settings (config section <c>Kafka</c>).</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";
    public const string Embedded = "embedded";

    /// <summary>Broker list, or empty / <c>embedded</c> to start librdkafka's in-process mock cluster.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>Event topics to consume.</summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>
    /// Wire format per topic (<c>native</c>, <c>tetragon</c>, <c>falco</c>, <c>tracee</c>, <c>hubble</c>, <c>auto</c>);
    /// topics not listed use <see cref="DefaultFormat"/>.
    /// </summary>
    public Dictionary<string, string> TopicFormats { get; set; } = new(StringComparer.Ordinal);

    /// <summary><c>auto</c> recognises each message by its top-level fields (cheap); name a format to be strict.</summary>
    public string DefaultFormat { get; set; } = "auto";

    public string GroupId { get; set; } = "runtime-sentinel";

    /// <summary>Undecodable messages of topic T go to T + this suffix.</summary>
    public string DeadLetterSuffix { get; set; } = ".dlq";

    public const int DefaultDeadLetterMaxBytes = 512 * 1024;

    /// <summary>
    /// A dead letter carries at most this many bytes of the rejected message (then it is marked truncated, with the
    /// original size and SHA-256), so that any rejected message fits the producer's and broker's message limits.
    /// </summary>
    public int DeadLetterMaxBytes { get; set; } = DefaultDeadLetterMaxBytes;

    /// <summary>Failed dead-letter writes before the source partition is paused (retries go on; nothing is skipped).</summary>
    public int DeadLetterRetries { get; set; } = 5;

    /// <summary>First back-off between dead-letter retries; doubles up to <see cref="DeadLetterMaxBackoff"/>.</summary>
    public TimeSpan DeadLetterRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan DeadLetterMaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Alerts are published here. Empty: no Kafka alert sink.</summary>
    public string? AlertsTopic { get; set; } = "sentinel.alerts";

    /// <summary>Analyst verdicts (docs/alerts.md, "Feedback"). Every instance reads all of it. Empty: no feedback.</summary>
    public string? FeedbackTopic { get; set; } = "sentinel.feedback";

    /// <summary>
    /// Compacted topic of workload checkpoints (baselines and models), keyed by workload; restored at start-up and when
    /// partitions move. Empty: baselines live only as long as the process.
    /// </summary>
    public string? StateTopic { get; set; } = "sentinel.state";

    /// <summary>Longest start-up waits for the state topic to be read to its end before ingestion starts.</summary>
    public TimeSpan StateRestoreTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Memory for the state table (the newest checkpoint of every workload in the topic); past it, new workloads' checkpoints are not kept.</summary>
    public int StateTableMaxMiB { get; set; } = 256;

    /// <summary>
    /// A local copy of this instance's checkpoints (a volume that outlives the container): read before the state topic,
    /// so a restart on the same node has its workloads back even while the topic is slow or, with the embedded cluster,
    /// gone. Empty: none.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>Most disk the local copy may use; past it, checkpoints of new workloads are not copied (counted).</summary>
    public int StateDirectoryMaxMiB { get; set; } = 32;

    /// <summary>Largest state record read or written (keep Detection:CheckpointMaxBytes below it and the topic's max.message.bytes above).</summary>
    public int StateRecordMaxBytes { get; set; } = 1 << 20;

    /// <summary>Append an audit record (who, when, why, result) per verdict to this JSON-lines file; always logged too.</summary>
    public string? FeedbackAuditFile { get; set; }

    /// <summary>Every verdict's audit record is produced here too (key = workload). Empty: file and log only.</summary>
    public string? FeedbackAuditTopic { get; set; } = "sentinel.feedback.audit";

    /// <summary>
    /// Analysts' verdict keys: one file per analyst (file name = analyst, content = key of at least 16 characters),
    /// e.g. a mounted Secret. A verdict counts only when signed with one of them (docs/alerts.md, "Feedback").
    /// </summary>
    public string? FeedbackKeysDirectory { get; set; }

    /// <summary>Accept verdicts without a signature. Anyone who can write to the topic can then silence detection: demos only.</summary>
    public bool FeedbackAllowUnsigned { get; set; }

    /// <summary>Longest a <c>scope: feature</c> verdict may accept every new item of a feature, from its publication.</summary>
    public TimeSpan FeedbackMaxFeatureAcceptance { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long after its publication a verdict for a workload not on this node waits for it to appear.</summary>
    public TimeSpan FeedbackPendingTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Where to start when the group has no committed offset: <c>earliest</c> or <c>latest</c>.</summary>
    public string AutoOffsetReset { get; set; } = "earliest";

    public int SessionTimeoutMs { get; set; } = 45_000;

    public int HeartbeatIntervalMs { get; set; } = 3_000;

    public int MaxPollIntervalMs { get; set; } = 300_000;

    /// <summary>
    /// Longest a consumer may take to leave its group on stop. Offsets are committed before; past this the stop goes
    /// on (the alert dispatcher still needs its share of <c>Http:ShutdownTimeout</c>) and the coordinator expires the member.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// How long librdkafka waits before fetching again for a partition whose prefetched messages are over its queue
    /// thresholds. librdkafka's default (1 s) starves a consumer that decodes slower than it fetches: the queue drains
    /// during the wait and the consume thread idles (measured: 40k against 142k Tetragon messages/s). Short is cheap.
    /// </summary>
    public int FetchQueueBackoffMs { get; set; } = 20;

    /// <summary>
    /// Longest a fetch waits at the broker for data (librdkafka's <c>fetch.wait.max.ms</c>). Unset: librdkafka's 500 ms
    /// on a real cluster, where a waiting fetch returns as soon as data arrives, so the wait adds no latency; and
    /// <see cref="EmbeddedFetchWaitMaxMs"/> on the embedded cluster, which answers only when the wait is over (measured:
    /// p50 event to incident 400 ms with 500, 30 ms with 10).
    /// </summary>
    public int? FetchWaitMaxMs { get; set; }

    public const int EmbeddedFetchWaitMaxMs = 10;

    /// <summary>
    /// Threads that decode messages beside the consume thread (which then only consumes, copies, enriches in stream
    /// order and hands over). 0: half the cores, at least 1 and at most 4.
    /// </summary>
    public int DecodeThreads { get; set; }

    public int EffectiveDecodeThreads => DecodeThreads > 0 ? DecodeThreads : Math.Clamp(Environment.ProcessorCount / 2, 1, 4);

    /// <summary>How often librdkafka reports statistics (consumer lag comes from them). 0 disables lag metrics.</summary>
    public int StatisticsIntervalMs { get; set; } = 5_000;

    /// <summary>Create missing topics at start-up (AdminClient on a real cluster; always done on the embedded one).</summary>
    public bool CreateTopics { get; set; }

    /// <summary>Partitions for topics this process creates.</summary>
    public int TopicPartitions { get; set; } = 6;

    public short ReplicationFactor { get; set; } = 1;

    public int EmbeddedBrokers { get; set; } = 1;

    /// <summary>Allow the embedded cluster when running inside Kubernetes (refused by default: it would watch nothing).</summary>
    public bool AllowEmbeddedInCluster { get; set; }

    /// <summary><c>plaintext</c>, <c>ssl</c>, <c>sasl_plaintext</c> or <c>sasl_ssl</c>.</summary>
    public string SecurityProtocol { get; set; } = "plaintext";

    /// <summary><c>PLAIN</c>, <c>SCRAM-SHA-256</c> or <c>SCRAM-SHA-512</c>.</summary>
    public string? SaslMechanism { get; set; }

    public string? SaslUsername { get; set; }

    /// <summary>Prefer <see cref="SaslPasswordFile"/> (a mounted Secret); never logged.</summary>
    public string? SaslPassword { get; set; }

    public string? SaslPasswordFile { get; set; }

    public string? SslCaLocation { get; set; }

    public string? SslCertificateLocation { get; set; }

    public string? SslKeyLocation { get; set; }

    public string? SslKeyPasswordFile { get; set; }

    public string FormatOf(string topic) => TopicFormats.TryGetValue(topic, out var f) ? f : DefaultFormat;

    public bool IsEmbedded => string.IsNullOrWhiteSpace(BootstrapServers) || string.Equals(BootstrapServers.Trim(), Embedded, StringComparison.OrdinalIgnoreCase);
}
