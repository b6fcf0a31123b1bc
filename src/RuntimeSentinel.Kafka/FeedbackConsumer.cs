using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;

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
public sealed partial class FeedbackConsumer : BackgroundService
{
    private readonly KafkaConnection _connection;
    private readonly KafkaOptions _options;
    private readonly DetectionPipeline _pipeline;
    private readonly KafkaMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<FeedbackConsumer> _logger;
    private readonly KafkaProducer? _producer;
    private readonly StageHealth _stage;
    private readonly FeedbackKeys _keys;
    private readonly Guid _instance = Guid.NewGuid();

    public FeedbackConsumer(
        KafkaConnection connection,
        IOptions<KafkaOptions> options,
        DetectionPipeline pipeline,
        KafkaMetrics metrics,
        TimeProvider time,
        ILogger<FeedbackConsumer> logger,
        KafkaProducer? producer = null,
        HealthRegistry? health = null)
    {
        _connection = connection;
        _options = options.Value;
        _pipeline = pipeline;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _producer = producer;
        // Supervised (and reported) only when there is a feedback topic to read.
        _stage = (string.IsNullOrEmpty(_options.FeedbackTopic) || health is null ? new HealthRegistry() : health).Register("feedback");
        _keys = new FeedbackKeys(_options.FeedbackKeysDirectory, time);
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
        var audit = new AuditRecord();
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

    private async Task HandleCoreAsync(byte[] message, Headers? headers, DateTimeOffset published, AuditRecord a)
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

            await ApplyAsync(root, signer, published, a).ConfigureAwait(false);
        }
    }

    private async Task ApplyAsync(JsonElement root, string? signer, DateTimeOffset published, AuditRecord a)
    {
        string? S(string n) => root.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? Bounded(v.GetString()) : null;
        a.Verdict = S("verdict") ?? "";
        var claimed = S("analyst") ?? "";
        a.Analyst = signer ?? claimed;
        a.Reason = S("reason") ?? "";
        a.Workload = S("workload") ?? "";
        a.Scope = S("scope") ?? "item";
        a.Feature = S("feature") ?? "";
        var errors = new List<string>();
        if (a.Verdict is not ("false_positive" or "true_positive"))
        {
            errors.Add("verdict must be false_positive or true_positive");
        }

        if (signer is not null && claimed.Length > 0 && claimed != signer)
        {
            errors.Add($"analyst '{claimed}' is not the owner of the signing key '{signer}'");
        }

        if (a.Analyst.Length == 0 || a.Reason.Length == 0)
        {
            errors.Add("analyst and reason are required (the audit needs who and why)");
        }

        if (a.Workload.Length == 0)
        {
            errors.Add("workload (the alert's workload.key) is required");
        }

        var featureIndex = Array.IndexOf(FeatureNames.All.ToArray(), a.Feature);
        if (featureIndex < 0 && a.Scope != "detector")
        {
            errors.Add($"feature must be one of {string.Join(", ", FeatureNames.All)}");
        }

        FeatureKey? key = null;
        string? detector = null;
        var score = double.NaN;
        var acceptUntil = default(DateTimeOffset);
        if (a.Scope == "detector")
        {
            // A model alert: the detector and its score come from the alert's model.detectors[].
            detector = S("detector");
            score = root.TryGetProperty("score", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.TryGetDouble(out var d) ? d : double.NaN;
            if (detector is null || !Detection.Models.WorkloadModel.IsDetector(detector))
            {
                errors.Add("scope detector needs detector: behaviour_pca, sequence or spike:<series> (copy it from the alert's model.detectors[].detector)");
            }

            if (!(score > 0) || double.IsInfinity(score))
            {
                errors.Add("scope detector needs the positive score the detector gave (model.detectors[].score)");
            }

            a.Feature = detector ?? "";
            a.Item = double.IsNaN(score) ? "" : score.ToString("R", CultureInfo.InvariantCulture);
        }
        else if (a.Scope == "item")
        {
            if (root.TryGetProperty("item", out var it) && it.ValueKind == JsonValueKind.Object && it.TryGetProperty("a", out var av) && av.ValueKind == JsonValueKind.String && Bounded(av.GetString()) is { Length: > 0 } first)
            {
                var b = it.TryGetProperty("b", out var bv) && bv.ValueKind == JsonValueKind.String ? Bounded(bv.GetString()) : null;
                var n = -1;
                if (it.TryGetProperty("n", out var nv) && !(nv.ValueKind == JsonValueKind.Number && nv.TryGetInt32(out n)))
                {
                    errors.Add("item.n must be an integer (a port or count, as in the alert)");
                    n = -1;
                }

                key = new FeatureKey(first, b, n);
                a.Item = key.Value.ToString();
            }
            else
            {
                errors.Add("scope item needs item {a, b?, n?} with a non-empty string a (copy it from the alert's explanation.item)");
            }
        }
        else if (a.Scope == "feature")
        {
            // Accepting every new item of a feature is the strongest verdict: it must end, and not far away.
            var expires = S("expires");
            if (expires is null || !DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out acceptUntil))
            {
                errors.Add("scope feature needs expires (RFC 3339): accepting a whole feature is always temporary");
            }
            else if (acceptUntil > published + _options.FeedbackMaxFeatureAcceptance)
            {
                errors.Add($"scope feature: expires may be at most {_options.FeedbackMaxFeatureAcceptance.TotalHours:0.#} h after the verdict (Kafka:FeedbackMaxFeatureAcceptance)");
            }
            else if (acceptUntil <= _time.GetUtcNow())
            {
                a.Result = "expired";
                a.Detail = "the acceptance has already ended";
                return;
            }

            a.Item = "until " + acceptUntil.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        }
        else
        {
            errors.Add("scope must be item, feature or detector");
        }

        if (errors.Count > 0)
        {
            a.Reject(string.Join("; ", errors));
            return;
        }

        if (a.Verdict == "true_positive")
        {
            a.Result = "recorded";
            a.Detail = "confirmed; the baseline is unchanged";
            return;
        }

        var verdict = new FeedbackVerdict(a.Workload, (Feature)Math.Max(0, featureIndex), key, detector, score, acceptUntil, published + _options.FeedbackPendingTtl);
        var applied = await _pipeline.ApplyFeedbackAsync(verdict).ConfigureAwait(false);
        a.Result = applied switch
        {
            FeedbackResult.Applied => "applied",
            FeedbackResult.Pending => "pending",
            FeedbackResult.Expired => "expired",
            _ => "rejected",
        };
        a.Detail = applied switch
        {
            FeedbackResult.Pending => $"workload not tracked yet; applied if it appears before {verdict.PendingUntil.UtcDateTime:O}",
            FeedbackResult.Expired => $"workload not tracked here and the verdict is older than Kafka:FeedbackPendingTtl ({_options.FeedbackPendingTtl})",
            FeedbackResult.Rejected => "the workload has no model detectors (models disabled)",
            _ when detector is not null => $"{detector} threshold raised to {score * Detection.Models.ModelRuntime.FeedbackMargin:0.###} for the workload (at most Detection:Models:MaxThresholdRaise times the calibrated threshold)",
            _ when key is null => $"every new {a.Feature} item accepted until {acceptUntil.UtcDateTime:O}",
            _ => "absorbed into the baseline",
        };
    }

    // Audit lines are read by people and log pipelines, not embedded in HTML: keep quotes and apostrophes readable.
    private static readonly JsonSerializerOptions AuditJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Verdicts are small; a bigger message is not one (and is not parsed).</summary>
    public const int MaxVerdictBytes = 64 * 1024;

    private static string? Bounded(string? s) => s is { Length: > 1024 } ? s[..1024] : s;

    private void Audit(AuditRecord a, DateTimeOffset published)
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

    private sealed class AuditRecord
    {
        public string Verdict { get; set; } = "unknown";

        public string Analyst { get; set; } = "";

        public bool Signed { get; set; }

        public string Reason { get; set; } = "";

        public string Workload { get; set; } = "";

        public string Scope { get; set; } = "";

        public string Feature { get; set; } = "";

        public string Item { get; set; } = "";

        public string Result { get; set; } = "rejected";

        public string Detail { get; set; } = "";

        public void Reject(string why)
        {
            Result = "rejected";
            Detail = why;
        }
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Feedback from {Analyst} ({Signed}): {Verdict} ({Scope}) on {Workload} {Feature} '{Item}' because '{Reason}': {Result} ({Detail})")]
    private static partial void LogVerdict(ILogger logger, string analyst, string signed, string verdict, string scope, string workload, string feature, string item, string reason, string result, string detail);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Feedback consumer: {Reason}")]
    private static partial void LogConsumeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "Could not write the feedback audit file {File}")]
    private static partial void LogAuditFailed(ILogger logger, Exception ex, string file);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Feedback topic {Topic} accepts UNSIGNED verdicts (Kafka:FeedbackAllowUnsigned): anyone who can write to it can silence detection. For demos only.")]
    private static partial void LogUnsignedAllowed(ILogger logger, string topic);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Error, Message = "Feedback verdict at {Source} could not be handled; skipped")]
    private static partial void LogHandleFailed(ILogger logger, Exception ex, string source);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Critical, Message = "Feedback consumer stopped on an unrecoverable error; the process is unhealthy")]
    private static partial void LogFaulted(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Error, Message = "Could not write the feedback audit record to {Topic}: {Reason}")]
    private static partial void LogAuditTopicFailed(ILogger logger, string topic, string reason);
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

    public static Headers Headers(string analyst, byte[] key, ReadOnlySpan<byte> body) => new()
    {
        { KeyHeader, Encoding.UTF8.GetBytes(analyst) },
        { SignatureHeader, Encoding.UTF8.GetBytes(Sign(key, body)) },
    };
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
