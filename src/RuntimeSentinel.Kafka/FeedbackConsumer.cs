using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// Reads analysts' verdicts from the feedback topic and absorbs false positives into the workload's baseline, so
/// the same behaviour stops alerting. Every instance reads every verdict (its own consumer group, from the start):
/// baselines live in memory and are rebuilt after a restart, so verdicts must be re-applied. Each verdict is
/// audited: logged, counted, and appended to <c>Kafka:FeedbackAuditFile</c> with who, when, why and the result.
/// </summary>
public sealed partial class FeedbackConsumer(
    KafkaConnection connection,
    IOptions<KafkaOptions> options,
    DetectionPipeline pipeline,
    KafkaMetrics metrics,
    TimeProvider time,
    ILogger<FeedbackConsumer> logger) : BackgroundService
{
    private readonly KafkaOptions _options = options.Value;
    private readonly Guid _instance = Guid.NewGuid();

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(_options.FeedbackTopic))
        {
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        var config = connection.Configure(new ConsumerConfig
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
        while (!stoppingToken.IsCancellationRequested)
        {
            ConsumeResult<Ignore, byte[]>? r;
            try
            {
                r = consumer.Consume(TimeSpan.FromMilliseconds(250));
            }
            catch (ConsumeException ex)
            {
                LogConsumeFailed(logger, ex.Error.Reason);
                continue;
            }

            if (r?.Message?.Value is { } value)
            {
                HandleAsync(value).GetAwaiter().GetResult();
            }
        }

        consumer.Close();
    }

    /// <summary>Parses, validates, applies and audits one verdict.</summary>
    public async Task<string> HandleAsync(byte[] message)
    {
        string verdict = "unknown", analyst = "", reason = "", workload = "", scope = "", feature = "", item = "";
        string? detector = null;
        var score = double.NaN;
        string result;
        string detail;
        try
        {
            using var doc = JsonDocument.Parse(message);
            var root = doc.RootElement;
            string? S(string n) => root.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            verdict = S("verdict") ?? "";
            analyst = S("analyst") ?? "";
            reason = S("reason") ?? "";
            workload = S("workload") ?? "";
            scope = S("scope") ?? "item";
            feature = S("feature") ?? "";
            var errors = new List<string>();
            if (verdict is not ("false_positive" or "true_positive"))
            {
                errors.Add("verdict must be false_positive or true_positive");
            }

            if (analyst.Length == 0 || reason.Length == 0)
            {
                errors.Add("analyst and reason are required (the audit needs who and why)");
            }

            if (workload.Length == 0)
            {
                errors.Add("workload (the alert's workload.key) is required");
            }

            var featureIndex = FeatureNames.All.ToList().IndexOf(feature);
            if (featureIndex < 0 && scope != "detector")
            {
                errors.Add($"feature must be one of {string.Join(", ", FeatureNames.All)}");
            }

            FeatureKey? key = null;
            if (scope == "detector")
            {
                // A model alert: the detector and its score come from the alert's model.detectors[].
                detector = S("detector");
                score = root.TryGetProperty("score", out var sv) && sv.ValueKind == JsonValueKind.Number ? sv.GetDouble() : double.NaN;
                if (detector is null || !Detection.Models.WorkloadModel.IsDetector(detector))
                {
                    errors.Add("scope detector needs detector: behaviour_pca, sequence or spike:<series> (copy it from the alert's model.detectors[].detector)");
                }

                if (!(score > 0) || double.IsInfinity(score))
                {
                    errors.Add("scope detector needs the positive score the detector gave (model.detectors[].score)");
                }

                feature = detector ?? "";
                item = score.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (scope == "item")
            {
                if (root.TryGetProperty("item", out var it) && it.ValueKind == JsonValueKind.Object && it.TryGetProperty("a", out var a) && a.ValueKind == JsonValueKind.String)
                {
                    var b = it.TryGetProperty("b", out var bv) && bv.ValueKind == JsonValueKind.String ? bv.GetString() : null;
                    var n = it.TryGetProperty("n", out var nv) && nv.TryGetInt32(out var ni) ? ni : -1;
                    key = new FeatureKey(a.GetString()!, b, n);
                    item = key.Value.ToString();
                }
                else
                {
                    errors.Add("scope item needs item {a, b?, n?} (copy it from the alert's explanation.item)");
                }
            }
            else if (scope != "feature")
            {
                errors.Add("scope must be item, feature or detector");
            }

            if (errors.Count > 0)
            {
                result = "rejected";
                detail = string.Join("; ", errors);
            }
            else if (verdict == "true_positive")
            {
                result = "recorded";
                detail = "confirmed; the baseline is unchanged";
            }
            else
            {
                var applied = await pipeline.ApplyFeedbackAsync(new FeedbackVerdict(workload, (Feature)Math.Max(0, featureIndex), key, detector, score)).ConfigureAwait(false);
                result = applied == FeedbackResult.Applied ? "applied" : applied == FeedbackResult.Pending ? "pending" : "rejected";
                detail = applied switch
                {
                    FeedbackResult.Pending => "workload not tracked yet; applied when it appears",
                    FeedbackResult.Rejected => "the workload has no model detectors (models disabled)",
                    _ when detector is not null => $"{detector} threshold raised to {score * Detection.Models.ModelRuntime.FeedbackMargin:0.###} for the workload",
                    _ => "absorbed into the baseline",
                };
            }
        }
        catch (JsonException ex)
        {
            result = "rejected";
            detail = "invalid JSON: " + ex.Message.Split(". ")[0];
        }

        metrics.Feedback.WithLabels(verdict is "false_positive" or "true_positive" ? verdict : "invalid", result).Inc();
        LogVerdict(logger, analyst, verdict, scope, workload, feature, item, reason, result, detail);
        Audit(new Dictionary<string, string>
        {
            ["time"] = time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["analyst"] = analyst,
            ["verdict"] = verdict,
            ["scope"] = scope,
            ["workload"] = workload,
            ["feature"] = feature,
            ["item"] = item,
            ["reason"] = reason,
            ["result"] = result,
            ["detail"] = detail,
        });
        return result;
    }

    private void Audit(Dictionary<string, string> record)
    {
        if (string.IsNullOrEmpty(_options.FeedbackAuditFile))
        {
            return;
        }

        try
        {
            File.AppendAllText(_options.FeedbackAuditFile, JsonSerializer.Serialize(record) + "\n");
        }
        catch (IOException ex)
        {
            LogAuditFailed(logger, ex, _options.FeedbackAuditFile);
        }
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Feedback from {Analyst}: {Verdict} ({Scope}) on {Workload} {Feature} '{Item}' because '{Reason}': {Result} ({Detail})")]
    private static partial void LogVerdict(ILogger logger, string analyst, string verdict, string scope, string workload, string feature, string item, string reason, string result, string detail);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Feedback consumer: {Reason}")]
    private static partial void LogConsumeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error, Message = "Could not write the feedback audit file {File}")]
    private static partial void LogAuditFailed(ILogger logger, Exception ex, string file);
}
