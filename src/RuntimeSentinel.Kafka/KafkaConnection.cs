using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// The one place that knows where Kafka is: a configured cluster (TLS/SASL applied), or the embedded mock
/// cluster started on first use. Creates the event, dead-letter and alert topics when asked to.
/// </summary>
public sealed partial class KafkaConnection : IDisposable
{
    private readonly KafkaOptions _options;
    private readonly ILogger<KafkaConnection> _logger;
    private readonly Lazy<string> _bootstrap;
    private MockKafkaCluster? _embedded;

    public KafkaConnection(IOptions<KafkaOptions> options, ILogger<KafkaConnection> logger)
    {
        _options = options.Value;
        _logger = logger;
        _bootstrap = new Lazy<string>(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public bool IsEmbedded => _options.IsEmbedded;

    public string BootstrapServers => _bootstrap.Value;

    /// <summary>The embedded cluster, once started (null when a real cluster is configured).</summary>
    public MockKafkaCluster? EmbeddedCluster
    {
        get
        {
            _ = _bootstrap.Value;
            return _embedded;
        }
    }

    /// <summary>All topics this process reads or writes.</summary>
    public IEnumerable<string> AllTopics()
    {
        foreach (var t in _options.Topics)
        {
            yield return t;
            yield return t + _options.DeadLetterSuffix;
        }

        if (!string.IsNullOrEmpty(_options.AlertsTopic))
        {
            yield return _options.AlertsTopic;
        }

        if (!string.IsNullOrEmpty(_options.StateTopic))
        {
            yield return _options.StateTopic;
        }

        if (!string.IsNullOrEmpty(_options.FeedbackTopic))
        {
            yield return _options.FeedbackTopic;
        }

        if (!string.IsNullOrEmpty(_options.FeedbackTopic) && !string.IsNullOrEmpty(_options.FeedbackAuditTopic))
        {
            yield return _options.FeedbackAuditTopic;
        }
    }

    /// <summary>Client settings shared by consumers, producers and admin clients. Secrets are read from files here, never logged.</summary>
    public T Configure<T>(T config)
        where T : ClientConfig
    {
        config.BootstrapServers = BootstrapServers;
        config.ClientId ??= "runtime-sentinel-" + Environment.MachineName;
        config.SecurityProtocol = _options.SecurityProtocol.ToLowerInvariant() switch
        {
            "ssl" => SecurityProtocol.Ssl,
            "sasl_plaintext" => SecurityProtocol.SaslPlaintext,
            "sasl_ssl" => SecurityProtocol.SaslSsl,
            _ => SecurityProtocol.Plaintext,
        };
        if (config.SecurityProtocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl)
        {
            config.SaslMechanism = _options.SaslMechanism?.ToUpperInvariant() switch
            {
                "SCRAM-SHA-256" => SaslMechanism.ScramSha256,
                "SCRAM-SHA-512" => SaslMechanism.ScramSha512,
                _ => SaslMechanism.Plain,
            };
            config.SaslUsername = _options.SaslUsername;
            config.SaslPassword = _options.SaslPasswordFile is { Length: > 0 } f ? File.ReadAllText(f).TrimEnd('\r', '\n') : _options.SaslPassword;
        }

        if (!string.IsNullOrEmpty(_options.SslCaLocation))
        {
            config.SslCaLocation = _options.SslCaLocation;
        }

        if (!string.IsNullOrEmpty(_options.SslCertificateLocation))
        {
            config.SslCertificateLocation = _options.SslCertificateLocation;
        }

        if (!string.IsNullOrEmpty(_options.SslKeyLocation))
        {
            config.SslKeyLocation = _options.SslKeyLocation;
        }

        if (!string.IsNullOrEmpty(_options.SslKeyPasswordFile))
        {
            config.SslKeyPassword = File.ReadAllText(_options.SslKeyPasswordFile).TrimEnd('\r', '\n');
        }

        return config;
    }

    /// <summary>Creates every topic in <see cref="AllTopics"/> (embedded: always; real cluster: if CreateTopics is set).</summary>
    public async Task EnsureTopicsAsync(CancellationToken cancellationToken)
    {
        var topics = AllTopics().Distinct().ToList();
        if (EmbeddedCluster is { } mock)
        {
            foreach (var t in topics)
            {
                mock.CreateTopic(t, _options.TopicPartitions, _options.ReplicationFactor);
            }

            LogTopicsCreated(_logger, string.Join(", ", topics));
            return;
        }

        if (!_options.CreateTopics)
        {
            return;
        }

        using var admin = new AdminClientBuilder(Configure(new AdminClientConfig())).Build();
        try
        {
            await admin.CreateTopicsAsync(
                topics.Select(t => new TopicSpecification
                {
                    Name = t,
                    NumPartitions = _options.TopicPartitions,
                    ReplicationFactor = _options.ReplicationFactor,

                    // Checkpoints: only the newest per workload matters, and it must never expire.
                    Configs = t == _options.StateTopic ? new() { ["cleanup.policy"] = "compact", ["max.message.bytes"] = (_options.StateRecordMaxBytes + 4096).ToString(System.Globalization.CultureInfo.InvariantCulture) } : null,
                }),
                new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30) }).WaitAsync(cancellationToken).ConfigureAwait(false);
            LogTopicsCreated(_logger, string.Join(", ", topics));
        }
        catch (CreateTopicsException ex) when (ex.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            LogTopicsCreated(_logger, string.Join(", ", ex.Results.Where(r => r.Error.Code == ErrorCode.NoError).Select(r => r.Topic)));
        }
    }

    public void Dispose() => _embedded?.Dispose();

    private string Start()
    {
        if (!_options.IsEmbedded)
        {
            LogExternal(_logger, _options.BootstrapServers!, _options.SecurityProtocol);
            return _options.BootstrapServers!;
        }

        _embedded = new MockKafkaCluster(_options.EmbeddedBrokers);
        LogEmbedded(_logger, _embedded.BootstrapServers, _options.EmbeddedBrokers);
        return _embedded.BootstrapServers;
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "No Kafka configured: started the EMBEDDED Kafka (librdkafka mock cluster, {Brokers} broker(s), in memory) at {Bootstrap}. Data is lost on exit; set Kafka:BootstrapServers for production.")]
    private static partial void LogEmbedded(ILogger logger, string bootstrap, int brokers);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Using Kafka at {Bootstrap} ({Protocol})")]
    private static partial void LogExternal(ILogger logger, string bootstrap, string protocol);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Topics ready: {Topics}")]
    private static partial void LogTopicsCreated(ILogger logger, string topics);
}
