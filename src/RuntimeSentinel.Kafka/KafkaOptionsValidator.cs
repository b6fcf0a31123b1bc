using Microsoft.Extensions.Options;

namespace RuntimeSentinel.Kafka;

/// <summary>Lists every Kafka configuration error at start-up (cross-field rules included).</summary>
internal sealed class KafkaOptionsValidator(Func<string, string?>? environment = null) : IValidateOptions<KafkaOptions>
{
    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    private static readonly string[] Protocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
    private static readonly string[] Mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

    public ValidateOptionsResult Validate(string? name, KafkaOptions o)
    {
        var errors = new List<string>();
        if (o.Topics.Count == 0)
        {
            errors.Add("Kafka:Topics must name at least one event topic.");
        }

        foreach (var t in o.Topics)
        {
            if (!IsValidTopic(t))
            {
                errors.Add($"Kafka:Topics: '{t}' is not a valid topic name (1-249 of [a-zA-Z0-9._-]).");
            }
        }

        if (o.Topics.Count != o.Topics.Distinct(StringComparer.Ordinal).Count())
        {
            errors.Add("Kafka:Topics lists a topic twice.");
        }

        if (!Formats.EventFormats.IsKnown(o.DefaultFormat))
        {
            errors.Add($"Kafka:DefaultFormat '{o.DefaultFormat}' must be one of {string.Join(", ", Formats.EventFormats.Names)}.");
        }

        foreach (var (topic, format) in o.TopicFormats)
        {
            if (!Formats.EventFormats.IsKnown(format))
            {
                errors.Add($"Kafka:TopicFormats:{topic} '{format}' must be one of {string.Join(", ", Formats.EventFormats.Names)}.");
            }

            if (!o.Topics.Contains(topic))
            {
                errors.Add($"Kafka:TopicFormats names '{topic}', which is not in Kafka:Topics.");
            }
        }

        if (string.IsNullOrWhiteSpace(o.GroupId))
        {
            errors.Add("Kafka:GroupId must not be empty.");
        }

        if (string.IsNullOrEmpty(o.DeadLetterSuffix) || !IsValidTopic("x" + o.DeadLetterSuffix))
        {
            errors.Add("Kafka:DeadLetterSuffix must be a non-empty topic-name suffix such as '.dlq'.");
        }

        if (!string.IsNullOrEmpty(o.AlertsTopic) && !IsValidTopic(o.AlertsTopic))
        {
            errors.Add($"Kafka:AlertsTopic '{o.AlertsTopic}' is not a valid topic name.");
        }

        if (!string.IsNullOrEmpty(o.AlertsTopic) && o.Topics.Contains(o.AlertsTopic))
        {
            errors.Add("Kafka:AlertsTopic must not also be an event topic (alerts would be read back as events).");
        }

        if (!string.IsNullOrEmpty(o.FeedbackTopic) && (!IsValidTopic(o.FeedbackTopic) || o.Topics.Contains(o.FeedbackTopic) || o.FeedbackTopic == o.AlertsTopic))
        {
            errors.Add($"Kafka:FeedbackTopic '{o.FeedbackTopic}' must be a valid topic name distinct from the event and alerts topics.");
        }

        if (!string.IsNullOrEmpty(o.StateTopic) && (!IsValidTopic(o.StateTopic) || o.Topics.Contains(o.StateTopic) || o.StateTopic == o.AlertsTopic || o.StateTopic == o.FeedbackTopic))
        {
            errors.Add($"Kafka:StateTopic '{o.StateTopic}' must be a valid topic name distinct from the event, alerts and feedback topics.");
        }

        if (o.StateRestoreTimeout <= TimeSpan.Zero || o.StateRestoreTimeout > TimeSpan.FromHours(1) || o.StateTableMaxMiB is < 1 or > 65536 || o.StateRecordMaxBytes is < 65536 or > 64 << 20)
        {
            errors.Add("Kafka:StateRestoreTimeout must be between 0 and 1 hour, StateTableMaxMiB 1-65536 and StateRecordMaxBytes 64 KiB-64 MiB.");
        }

        if (!string.IsNullOrEmpty(o.StateDirectory) && (string.IsNullOrEmpty(o.StateTopic) || o.StateDirectoryMaxMiB is < 1 or > 65536))
        {
            errors.Add("Kafka:StateDirectory needs Kafka:StateTopic, and Kafka:StateDirectoryMaxMiB must be 1-65536.");
        }

        if (o.DeadLetterMaxBytes is < 1024 or > 16 * 1024 * 1024)
        {
            errors.Add("Kafka:DeadLetterMaxBytes must be between 1024 and 16777216.");
        }

        if (o.DeadLetterRetries is < 1 or > 100 || o.DeadLetterRetryDelay <= TimeSpan.Zero || o.DeadLetterMaxBackoff < o.DeadLetterRetryDelay)
        {
            errors.Add("Kafka:DeadLetterRetries must be 1-100, DeadLetterRetryDelay positive and DeadLetterMaxBackoff at least DeadLetterRetryDelay.");
        }

        if (!string.IsNullOrEmpty(o.FeedbackAuditTopic) && (!IsValidTopic(o.FeedbackAuditTopic) || o.Topics.Contains(o.FeedbackAuditTopic) || o.FeedbackAuditTopic == o.FeedbackTopic || o.FeedbackAuditTopic == o.AlertsTopic))
        {
            errors.Add($"Kafka:FeedbackAuditTopic '{o.FeedbackAuditTopic}' must be a valid topic name distinct from the event, alerts and feedback topics.");
        }

        if (!string.IsNullOrEmpty(o.FeedbackKeysDirectory) && !Directory.Exists(o.FeedbackKeysDirectory))
        {
            errors.Add($"Kafka:FeedbackKeysDirectory '{o.FeedbackKeysDirectory}' does not exist.");
        }

        if (o.FeedbackMaxFeatureAcceptance <= TimeSpan.Zero || o.FeedbackMaxFeatureAcceptance > TimeSpan.FromDays(90))
        {
            errors.Add("Kafka:FeedbackMaxFeatureAcceptance must be between 0 and 90 days.");
        }

        if (o.FeedbackPendingTtl <= TimeSpan.Zero || o.FeedbackPendingTtl > TimeSpan.FromDays(30))
        {
            errors.Add("Kafka:FeedbackPendingTtl must be between 0 and 30 days.");
        }

        if (o.IsEmbedded && !o.AllowEmbeddedInCluster && !string.IsNullOrEmpty(_environment("KUBERNETES_SERVICE_HOST")))
        {
            errors.Add("Kafka:BootstrapServers is empty or 'embedded' inside a Kubernetes cluster (KUBERNETES_SERVICE_HOST is set): the embedded test cluster keeps nothing and reads nothing real. Configure the cluster's Kafka, or set Kafka:AllowEmbeddedInCluster=true.");
        }

        if (o.AutoOffsetReset is not ("earliest" or "latest"))
        {
            errors.Add("Kafka:AutoOffsetReset must be 'earliest' or 'latest'.");
        }

        if (o.CloseTimeout <= TimeSpan.Zero || o.CloseTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add("Kafka:CloseTimeout must be between 0 and 2 minutes.");
        }

        if (o.SessionTimeoutMs < 1000)
        {
            errors.Add("Kafka:SessionTimeoutMs must be at least 1000.");
        }

        if (o.HeartbeatIntervalMs < 1 || o.HeartbeatIntervalMs >= o.SessionTimeoutMs)
        {
            errors.Add("Kafka:HeartbeatIntervalMs must be positive and below SessionTimeoutMs.");
        }

        if (o.MaxPollIntervalMs < o.SessionTimeoutMs)
        {
            errors.Add("Kafka:MaxPollIntervalMs must be at least SessionTimeoutMs.");
        }

        if (o.FetchQueueBackoffMs is < 0 or > 300_000)
        {
            errors.Add("Kafka:FetchQueueBackoffMs must be between 0 and 300000.");
        }

        if (o.DecodeThreads is < 0 or > 64)
        {
            errors.Add("Kafka:DecodeThreads must be between 0 (half the cores) and 64.");
        }

        if (o.FetchWaitMaxMs is < 0 or > 300_000)
        {
            errors.Add("Kafka:FetchWaitMaxMs must be between 0 and 300000.");
        }

        if (o.StatisticsIntervalMs < 0)
        {
            errors.Add("Kafka:StatisticsIntervalMs must not be negative.");
        }

        if (o.TopicPartitions is < 1 or > 10_000)
        {
            errors.Add("Kafka:TopicPartitions must be between 1 and 10000.");
        }

        if (o.EmbeddedBrokers is < 1 or > 5)
        {
            errors.Add("Kafka:EmbeddedBrokers must be between 1 and 5.");
        }

        if (o.ReplicationFactor < 1 || (o.IsEmbedded && o.ReplicationFactor > o.EmbeddedBrokers))
        {
            errors.Add("Kafka:ReplicationFactor must be at least 1 (and not above EmbeddedBrokers in embedded mode).");
        }

        var protocol = o.SecurityProtocol.ToLowerInvariant();
        if (!Protocols.Contains(protocol))
        {
            errors.Add($"Kafka:SecurityProtocol '{o.SecurityProtocol}' must be one of {string.Join(", ", Protocols)}.");
        }

        if (protocol.StartsWith("sasl", StringComparison.Ordinal))
        {
            if (o.SaslMechanism is null || !Mechanisms.Contains(o.SaslMechanism.ToUpperInvariant()))
            {
                errors.Add($"Kafka:SaslMechanism must be one of {string.Join(", ", Mechanisms)} when SecurityProtocol is {protocol}.");
            }

            if (string.IsNullOrEmpty(o.SaslUsername))
            {
                errors.Add("Kafka:SaslUsername is required for SASL.");
            }

            if (string.IsNullOrEmpty(o.SaslPassword) == string.IsNullOrEmpty(o.SaslPasswordFile))
            {
                errors.Add("Kafka: give exactly one of SaslPassword or SaslPasswordFile for SASL.");
            }
        }

        foreach (var (key, path) in new[] { ("SaslPasswordFile", o.SaslPasswordFile), ("SslCaLocation", o.SslCaLocation), ("SslCertificateLocation", o.SslCertificateLocation), ("SslKeyLocation", o.SslKeyLocation), ("SslKeyPasswordFile", o.SslKeyPasswordFile) })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                errors.Add($"Kafka:{key} '{path}' does not exist.");
            }
        }

        if (o.IsEmbedded && protocol != "plaintext")
        {
            errors.Add("Kafka:SecurityProtocol must be plaintext for the embedded cluster.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool IsValidTopic(string t) =>
        t.Length is > 0 and < 250 && t is not ("." or "..") && t.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
