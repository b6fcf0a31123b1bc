using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Feedback;
using RuntimeSentinel.Core.Health;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Reads analysts' verdicts from the feedback topic and absorbs false positives into the workload's baseline, so
/// the same behaviour stops alerting. Every instance reads every verdict (its own consumer group, from the start):
/// baselines live in memory and are rebuilt after a restart, so verdicts must be re-applied.
/// Whoever can write to the topic must not be able to switch detection off: a verdict counts only when signed with
/// an analyst's key (HMAC-SHA256 over the message value, <see cref="FeedbackSignature"/>), unless the deployment
/// explicitly allows unsigned verdicts (the demo); a whole-feature acceptance always expires; threshold raises are
/// capped (Detection:Models:MaxThresholdRaise); verdicts for workloads not seen yet wait a bounded time. Each verdict
/// is audited: logged, counted, produced to <c>Kafka:FeedbackAuditTopic</c> and appended to
/// <c>Kafka:FeedbackAuditFile</c>, with who signed, when, why and the result. No message can stop this loop.
/// </summary>
internal sealed partial class FeedbackConsumer : BackgroundService
{
    private readonly KafkaConnection _connection;
    private readonly KafkaOptions _options;
    private readonly IVerdictHandler _verdicts;
    private readonly KafkaMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<FeedbackConsumer> _logger;
    private readonly KafkaProducer? _producer;
    private readonly StageHealth _stage;
    private readonly FeedbackKeys _keys;
    private readonly VerdictLimits _limits;
    private readonly Guid _instance = Guid.NewGuid();

    public FeedbackConsumer(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        IVerdictHandler verdicts,
        KafkaMetrics metrics,
        TimeProvider time,
        ILogger<FeedbackConsumer> logger,
        KafkaProducer? producer = null,
        HealthRegistry? health = null)
    {
        _connection = connection;
        _options = options.Value;
        _verdicts = verdicts;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _producer = producer;
        // Supervised (and reported) only when there is a feedback topic to read.
        _stage = (string.IsNullOrEmpty(_options.FeedbackTopic) || health is null ? new HealthRegistry() : health).Register("feedback");
        _keys = new FeedbackKeys(_options.FeedbackKeysDirectory, time);
        _limits = new VerdictLimits(_options.FeedbackMaxFeatureAcceptance, _options.FeedbackPendingTtl);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(_options.FeedbackTopic))
        {
            _stage.Stopped();
            return Task.CompletedTask;
        }

        if (_options.FeedbackAllowUnsigned)
        {
            LogUnsignedAllowed(_logger, _options.FeedbackTopic);
        }

        return Task.Factory.StartNew(() => Supervise(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Supervise(CancellationToken stoppingToken)
    {
        try
        {
            Run(stoppingToken);
            _stage.Stopped();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _stage.Stopped();
        }
        catch (Exception ex)
        {
            // Only a fatal client error gets here; /healthz turns unhealthy and the pod restarts.
            _stage.Faulted($"{ex.GetType().Name}: {ex.Message}");
            LogFaulted(_logger, ex);
        }
    }

    private void Run(CancellationToken stoppingToken)
    {
        var config = _connection.Configure(new ConsumerConfig
        {
            // A group of its own per instance (never shared, even by two hosts in one process): every instance
            // must read every verdict, and leaving must not make others rebalance.
            GroupId = $"{_options.GroupId}.feedback.{Environment.MachineName}.{_instance:N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            HeartbeatIntervalMs = _options.HeartbeatIntervalMs,
        });
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Subscribe(_options.FeedbackTopic);
        _stage.Running();
        while (!stoppingToken.IsCancellationRequested)
        {
            ConsumeResult<Ignore, byte[]>? r;
            try
            {
                r = consumer.Consume(TimeSpan.FromMilliseconds(250));
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                _stage.ItemFailed(ex.Error.Reason);
                LogConsumeFailed(_logger, ex.Error.Reason);
                continue;
            }

            if (r?.Message is not { } message)
            {
                continue;
            }

            try
            {
                var timestamp = message.Timestamp.Type == TimestampType.NotAvailable ? _time.GetUtcNow() : new DateTimeOffset(message.Timestamp.UtcDateTime, TimeSpan.Zero);
                HandleAsync(message.Value ?? [], message.Headers, timestamp).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // HandleAsync catches what a verdict can throw; this is the last line (an audit write, a stopped shard).
                _stage.ItemFailed($"{ex.GetType().Name}: {ex.Message}");
                LogHandleFailed(_logger, ex, r.TopicPartitionOffset.ToString());
            }
        }

        consumer.Close();
    }

    /// <summary>Checks, parses, validates, applies and audits one verdict; returns the result written to the audit.</summary>
    /// <param name="headers">The message headers: <see cref="FeedbackSignature.KeyHeader"/> and <see cref="FeedbackSignature.SignatureHeader"/>.</param>
    /// <param name="timestamp">When the verdict was published (its expiry horizon counts from here, not from each re-read at start-up).</param>
    public async Task<string> HandleAsync(byte[] message, Headers? headers = null, DateTimeOffset? timestamp = null)
    {
        var published = timestamp ?? _time.GetUtcNow();
        var audit = new VerdictAudit();
        try
        {
            await HandleCoreAsync(message, headers, published, audit).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            audit.Result = "rejected";
            audit.Detail = $"could not be processed ({ex.GetType().Name})";
            _stage.ItemFailed($"{ex.GetType().Name}: {ex.Message}");
        }

        _metrics.Feedback.WithLabels(audit.Verdict is "false_positive" or "true_positive" ? audit.Verdict : "invalid", audit.Result).Inc();
        LogVerdict(_logger, audit.Analyst, audit.Signed ? "signed" : "unsigned", audit.Verdict, audit.Scope, audit.Workload, audit.Feature, audit.Item, audit.Reason, audit.Result, audit.Detail);
        Audit(audit, published);
        return audit.Result;
    }

    private async Task HandleCoreAsync(byte[] message, Headers? headers, DateTimeOffset published, VerdictAudit a)
    {
        if (message.Length > MaxVerdictBytes)
        {
            a.Reject($"a verdict is at most {MaxVerdictBytes} bytes; this one has {message.Length}");
            return;
        }

        var signer = _keys.Verify(message, headers, out var signatureProblem);
        a.Signed = signer is not null;
        if (signer is null && !_options.FeedbackAllowUnsigned)
        {
            a.Reject(signatureProblem);
            return;
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(message, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            a.Reject("invalid JSON: " + ex.Message.Split(". ")[0]);
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                a.Reject($"a verdict is a JSON object, not {root.ValueKind}");
                return;
            }

            await _verdicts.ApplyAsync(root, signer, published, _limits, a).ConfigureAwait(false);
        }
    }

    // Audit lines are read by people and log pipelines, not embedded in HTML: keep quotes and apostrophes readable.
    private static readonly JsonSerializerOptions AuditJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Verdicts are small; a bigger message is not one (and is not parsed).</summary>
    public const int MaxVerdictBytes = 64 * 1024;

    private void Audit(VerdictAudit a, DateTimeOffset published)
    {
        var record = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["time"] = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            ["published"] = published.ToString("O", CultureInfo.InvariantCulture),
            ["analyst"] = a.Analyst,
            ["signed"] = a.Signed,
            ["verdict"] = a.Verdict,
            ["scope"] = a.Scope,
            ["workload"] = a.Workload,
            ["feature"] = a.Feature,
            ["item"] = a.Item,
            ["reason"] = a.Reason,
            ["result"] = a.Result,
            ["detail"] = a.Detail,
            ["instance"] = Environment.MachineName,
        }, AuditJson);
        if (!string.IsNullOrEmpty(_options.FeedbackAuditTopic) && _producer is not null)
        {
            try
            {
                _producer.Producer.Produce(_options.FeedbackAuditTopic, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(a.Workload), Value = record }, report =>
                {
                    if (report.Error.IsError)
                    {
                        _stage.ItemFailed("audit topic: " + report.Error.Reason);
                        LogAuditTopicFailed(_logger, _options.FeedbackAuditTopic, report.Error.Reason);
                    }
                });
            }
            catch (KafkaException ex)
            {
                _stage.ItemFailed("audit topic: " + ex.Error.Reason);
                LogAuditTopicFailed(_logger, _options.FeedbackAuditTopic, ex.Error.Reason);
            }
        }

        if (string.IsNullOrEmpty(_options.FeedbackAuditFile))
        {
            return;
        }

        try
        {
            using var file = new FileStream(_options.FeedbackAuditFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            file.Write(record);
            file.WriteByte((byte)'\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _stage.ItemFailed("audit file: " + ex.Message);
            LogAuditFailed(_logger, ex, _options.FeedbackAuditFile);
        }
    }

}

/// <summary>
/// How a verdict is signed: header <see cref="KeyHeader"/> names the analyst's key, header
/// <see cref="SignatureHeader"/> carries <c>sha256=&lt;hex HMAC-SHA256(key, message value)&gt;</c>.
/// </summary>
public static class FeedbackSignature
{
    public const string KeyHeader = "sentinel-analyst";
    public const string SignatureHeader = "sentinel-signature";

    public static string Sign(byte[] key, ReadOnlySpan<byte> body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body));

    /// <summary>The two headers that sign a verdict, as name and bytes (for <see cref="RecordProducer.SendAsync"/>).</summary>
    public static KeyValuePair<string, byte[]>[] HeaderPairs(string analyst, byte[] key, ReadOnlySpan<byte> body) =>
    [
        new(KeyHeader, Encoding.UTF8.GetBytes(analyst)),
        new(SignatureHeader, Encoding.UTF8.GetBytes(Sign(key, body))),
    ];

    public static Headers Headers(string analyst, byte[] key, ReadOnlySpan<byte> body)
    {
        var headers = new Headers();
        foreach (var (name, value) in HeaderPairs(analyst, key, body))
        {
            headers.Add(name, value);
        }

        return headers;
    }
}

/// <summary>
/// Analysts' verdict keys: one file per analyst in <c>Kafka:FeedbackKeysDirectory</c> (a mounted Secret), the file
/// name being the analyst's name and its content the key. Re-read at most every 30 s, so keys can be rotated.
/// </summary>
internal sealed class FeedbackKeys(string? directory, TimeProvider time)
{
    private Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    /// <summary>The analyst whose key signed the message, or null with the reason.</summary>
    public string? Verify(byte[] body, Headers? headers, out string problem)
    {
        problem = "";
        if (headers is null || !headers.TryGetLastBytes(FeedbackSignature.KeyHeader, out var keyBytes) || !headers.TryGetLastBytes(FeedbackSignature.SignatureHeader, out var sigBytes))
        {
            problem = $"unsigned verdict: headers {FeedbackSignature.KeyHeader} and {FeedbackSignature.SignatureHeader} are required (Kafka:FeedbackAllowUnsigned is off)";
            return null;
        }

        var name = Encoding.UTF8.GetString(keyBytes.AsSpan(0, Math.Min(keyBytes.Length, 128)));
        var keys = Load();
        if (!keys.TryGetValue(name, out var key))
        {
            problem = $"no verdict key named '{name}' in Kafka:FeedbackKeysDirectory";
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(FeedbackSignature.Sign(key, body));
        if (!CryptographicOperations.FixedTimeEquals(expected, sigBytes))
        {
            problem = $"signature does not verify with the key of '{name}'";
            return null;
        }

        return name;
    }

    private Dictionary<string, byte[]> Load()
    {
        var now = time.GetUtcNow();
        if (string.IsNullOrEmpty(directory) || now - _loadedAt < TimeSpan.FromSeconds(30))
        {
            return _keys;
        }

        _loadedAt = now;
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                var name = Path.GetFileName(file);
                if (name.StartsWith('.'))
                {
                    continue; // a mounted Secret's ..data links
                }

                var key = File.ReadAllText(file).Trim();
                if (key.Length >= 16)
                {
                    keys[name] = Encoding.UTF8.GetBytes(key);
                }
            }

            _keys = keys;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keep the keys we had; the next verdict tries again in 30 s.
        }

        return _keys;
    }
}
