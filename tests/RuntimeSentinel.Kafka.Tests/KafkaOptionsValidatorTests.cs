namespace RuntimeSentinel.Kafka.Tests;

public class KafkaOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_WithOneTopic_Succeeds()
    {
        Assert.True(new KafkaOptionsValidator().Validate(null, new KafkaOptions { Topics = ["events"] }).Succeeded);
    }

    [Fact]
    public void Validate_ManyMistakes_ListsEachOne()
    {
        var o = new KafkaOptions
        {
            BootstrapServers = "kafka:9092",
            Topics = ["bad topic!", "events"],
            GroupId = " ",
            AlertsTopic = "events",
            AutoOffsetReset = "middle",
            SecurityProtocol = "sasl_ssl",
            SaslMechanism = "GSSAPI",
            SslCaLocation = "/nonexistent/ca.pem",
            CloseTimeout = TimeSpan.Zero,
            FetchQueueBackoffMs = -1,
            FetchWaitMaxMs = 400_000,
        };
        var result = new KafkaOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.Contains("bad topic!", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("GroupId", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("AlertsTopic must not also be an event topic", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("AutoOffsetReset", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("SaslMechanism", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("SaslUsername", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("SaslPassword", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("/nonexistent/ca.pem", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("CloseTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("FetchQueueBackoffMs", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("FetchWaitMaxMs", StringComparison.Ordinal));
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
        Assert.Equal(5, result.Failures!.Count());
    }
}
