namespace RuntimeSentinel.Kafka.Tests;

public class KafkaOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_WithOneTopic_Succeeds()
    {
        var result = new KafkaOptionsValidator(_ => null).Validate(null, new KafkaOptions { Topics = ["events"] });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_EveryFieldBad_ListsEachError()
    {
        // Embedded inside a cluster, so that the embedded-only rules fire too; SASL, so that its rules do.
        var o = new KafkaOptions
        {
            BootstrapServers = KafkaOptions.Embedded,
            Topics = ["bad topic!", "events", "events", "bad alerts!"],
            DefaultFormat = "xml",
            TopicFormats = new(StringComparer.Ordinal) { ["other"] = "csv" },
            GroupId = " ",
            DeadLetterSuffix = "",
            AlertsTopic = "bad alerts!",
            FeedbackTopic = "events",
            StateTopic = "events",
            StateRestoreTimeout = TimeSpan.Zero,
            StateDirectory = "/var/lib/sentinel",
            StateDirectoryMaxMiB = 0,
            DeadLetterMaxBytes = 1023,
            DeadLetterRetries = 0,
            FeedbackAuditTopic = "events",
            FeedbackKeysDirectory = "/nonexistent/keys",
            FeedbackMaxFeatureAcceptance = TimeSpan.Zero,
            FeedbackPendingTtl = TimeSpan.FromDays(31),
            AllowEmbeddedInCluster = false,
            AutoOffsetReset = "middle",
            CloseTimeout = TimeSpan.Zero,
            SessionTimeoutMs = 999,
            HeartbeatIntervalMs = 0,
            MaxPollIntervalMs = 998,
            FetchQueueBackoffMs = -1,
            DecodeThreads = 65,
            FetchWaitMaxMs = 400_000,
            StatisticsIntervalMs = -1,
            TopicPartitions = 0,
            EmbeddedBrokers = 6,
            ReplicationFactor = 0,
            SecurityProtocol = "sasl_ssl",
            SaslMechanism = "GSSAPI",
            SaslPassword = "inline",
            SaslPasswordFile = "/nonexistent/password",
            SslCaLocation = "/nonexistent/ca.pem",
            SslCertificateLocation = "/nonexistent/cert.pem",
            SslKeyLocation = "/nonexistent/key.pem",
            SslKeyPasswordFile = "/nonexistent/key-password",
        };

        var result = new KafkaOptionsValidator(name => name == "KUBERNETES_SERVICE_HOST" ? "10.96.0.1" : null).Validate(null, o);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        var formats = string.Join(", ", Formats.EventFormats.Names);
        string[] expected =
        [
            "Kafka:Topics: 'bad topic!' is not a valid topic name (1-249 of [a-zA-Z0-9._-]).",
            "Kafka:Topics: 'bad alerts!' is not a valid topic name (1-249 of [a-zA-Z0-9._-]).",
            "Kafka:Topics lists a topic twice.",
            $"Kafka:DefaultFormat 'xml' must be one of {formats}.",
            $"Kafka:TopicFormats:other 'csv' must be one of {formats}.",
            "Kafka:TopicFormats names 'other', which is not in Kafka:Topics.",
            "Kafka:GroupId must not be empty.",
            "Kafka:DeadLetterSuffix must be a non-empty topic-name suffix such as '.dlq'.",
            "Kafka:AlertsTopic 'bad alerts!' is not a valid topic name.",
            "Kafka:AlertsTopic must not also be an event topic (alerts would be read back as events).",
            "Kafka:FeedbackTopic 'events' must be a valid topic name distinct from the event and alerts topics.",
            "Kafka:StateTopic 'events' must be a valid topic name distinct from the event, alerts and feedback topics.",
            "Kafka:StateRestoreTimeout must be between 0 and 1 hour, StateTableMaxMiB 1-65536 and StateRecordMaxBytes 64 KiB-64 MiB.",
            "Kafka:StateDirectory needs Kafka:StateTopic, and Kafka:StateDirectoryMaxMiB must be 1-65536.",
            "Kafka:DeadLetterMaxBytes must be between 1024 and 16777216.",
            "Kafka:DeadLetterRetries must be 1-100, DeadLetterRetryDelay positive and DeadLetterMaxBackoff at least DeadLetterRetryDelay.",
            "Kafka:FeedbackAuditTopic 'events' must be a valid topic name distinct from the event, alerts and feedback topics.",
            "Kafka:FeedbackKeysDirectory '/nonexistent/keys' does not exist.",
            "Kafka:FeedbackMaxFeatureAcceptance must be between 0 and 90 days.",
            "Kafka:FeedbackPendingTtl must be between 0 and 30 days.",
            "Kafka:BootstrapServers is empty or 'embedded' inside a Kubernetes cluster (KUBERNETES_SERVICE_HOST is set): the embedded test cluster keeps nothing and reads nothing real. Configure the cluster's Kafka, or set Kafka:AllowEmbeddedInCluster=true.",
            "Kafka:AutoOffsetReset must be 'earliest' or 'latest'.",
            "Kafka:CloseTimeout must be between 0 and 2 minutes.",
            "Kafka:SessionTimeoutMs must be at least 1000.",
            "Kafka:HeartbeatIntervalMs must be positive and below SessionTimeoutMs.",
            "Kafka:MaxPollIntervalMs must be at least SessionTimeoutMs.",
            "Kafka:FetchQueueBackoffMs must be between 0 and 300000.",
            "Kafka:DecodeThreads must be between 0 (half the cores) and 64.",
            "Kafka:FetchWaitMaxMs must be between 0 and 300000.",
            "Kafka:StatisticsIntervalMs must not be negative.",
            "Kafka:TopicPartitions must be between 1 and 10000.",
            "Kafka:EmbeddedBrokers must be between 1 and 5.",
            "Kafka:ReplicationFactor must be at least 1 (and not above EmbeddedBrokers in embedded mode).",
            "Kafka:SaslMechanism must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 when SecurityProtocol is sasl_ssl.",
            "Kafka:SaslUsername is required for SASL.",
            "Kafka: give exactly one of SaslPassword or SaslPasswordFile for SASL.",
            "Kafka:SaslPasswordFile '/nonexistent/password' does not exist.",
            "Kafka:SslCaLocation '/nonexistent/ca.pem' does not exist.",
            "Kafka:SslCertificateLocation '/nonexistent/cert.pem' does not exist.",
            "Kafka:SslKeyLocation '/nonexistent/key.pem' does not exist.",
            "Kafka:SslKeyPasswordFile '/nonexistent/key-password' does not exist.",
            "Kafka:SecurityProtocol must be plaintext for the embedded cluster.",
        ];
        foreach (var error in expected)
        {
            Assert.Contains(error, failures);
        }

        Assert.Equal(expected.Length, failures.Count);
    }

    [Fact]
    public void Validate_NoTopicAndUnknownProtocol_ListsEachError()
    {
        // The two errors the test above cannot hold: it needs topics to judge, and a SASL protocol (a known one).
        var o = new KafkaOptions { BootstrapServers = "kafka:9092", Topics = [], SecurityProtocol = "tls" };

        var result = new KafkaOptionsValidator(_ => null).Validate(null, o);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains("Kafka:Topics must name at least one event topic.", failures);
        Assert.Contains("Kafka:SecurityProtocol 'tls' must be one of plaintext, ssl, sasl_plaintext, sasl_ssl.", failures);
        Assert.Equal(2, failures.Count);
    }

    [Fact]
    public void Validate_SaslPasswordFile_IsReadIntoConfigAndNotRequiredInline()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "s3cret\n");
        try
        {
            var o = new KafkaOptions { BootstrapServers = "k:9092", Topics = ["e"], SecurityProtocol = "sasl_ssl", SaslMechanism = "SCRAM-SHA-512", SaslUsername = "u", SaslPasswordFile = file };
            Assert.True(new KafkaOptionsValidator().Validate(null, o).Succeeded);
            using var connection = new KafkaConnection(Microsoft.Extensions.Options.Options.Create(o), Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaConnection>.Instance);
            var config = connection.Configure(new Confluent.Kafka.ConsumerConfig());
            Assert.Equal("s3cret", config.SaslPassword);
            Assert.Equal(Confluent.Kafka.SaslMechanism.ScramSha512, config.SaslMechanism);
            Assert.Equal(Confluent.Kafka.SecurityProtocol.SaslSsl, config.SecurityProtocol);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Validate_EmbeddedWithTls_IsRejected()
    {
        var result = new KafkaOptionsValidator().Validate(null, new KafkaOptions { Topics = ["e"], SecurityProtocol = "ssl" });
        Assert.Contains(result.Failures!, f => f.Contains("embedded", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_EmbeddedInsideKubernetes_IsRefusedUnlessAllowed()
    {
        string? InCluster(string name) => name == "KUBERNETES_SERVICE_HOST" ? "10.96.0.1" : null;
        var refused = new KafkaOptionsValidator(InCluster).Validate(null, new KafkaOptions { Topics = ["e"] });
        Assert.Contains(refused.Failures!, f => f.Contains("KUBERNETES_SERVICE_HOST", StringComparison.Ordinal));
        Assert.True(new KafkaOptionsValidator(InCluster).Validate(null, new KafkaOptions { Topics = ["e"], AllowEmbeddedInCluster = true }).Succeeded);
        Assert.True(new KafkaOptionsValidator(InCluster).Validate(null, new KafkaOptions { Topics = ["e"], BootstrapServers = "kafka:9092" }).Succeeded);
        Assert.True(new KafkaOptionsValidator(_ => null).Validate(null, new KafkaOptions { Topics = ["e"] }).Succeeded);
    }

    [Fact]
    public void Validate_DeadLetterAndFeedbackLimits_AreChecked()
    {
        var result = new KafkaOptionsValidator(_ => null).Validate(null, new KafkaOptions
        {
            Topics = ["e"],
            DeadLetterMaxBytes = 10,
            DeadLetterRetries = 0,
            FeedbackKeysDirectory = "/nonexistent/keys",
            FeedbackMaxFeatureAcceptance = TimeSpan.Zero,
            FeedbackAuditTopic = "e",
        });
        var failures = result.Failures!.ToList();
        Assert.Contains("Kafka:DeadLetterMaxBytes must be between 1024 and 16777216.", failures);
        Assert.Contains("Kafka:DeadLetterRetries must be 1-100, DeadLetterRetryDelay positive and DeadLetterMaxBackoff at least DeadLetterRetryDelay.", failures);
        Assert.Contains("Kafka:FeedbackKeysDirectory '/nonexistent/keys' does not exist.", failures);
        Assert.Contains("Kafka:FeedbackMaxFeatureAcceptance must be between 0 and 90 days.", failures);
        Assert.Contains("Kafka:FeedbackAuditTopic 'e' must be a valid topic name distinct from the event, alerts and feedback topics.", failures);
        Assert.Equal(5, failures.Count);
    }
}
