using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Kafka;

public static class KafkaServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Kafka connection (embedded or configured), producer, dead-letter publisher, the alerts-topic
    /// sink and the consume loop. Call after alerting and detection: the consume loop must stop first.
    /// </summary>
    public static IServiceCollection AddSentinelKafka(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.TryAddSingleton<KafkaMetrics>();
        services.TryAddSingleton<KafkaConnection>();
        services.TryAddSingleton<KafkaProducer>();
        services.TryAddSingleton<DeadLetterPublisher>();
        services.TryAddSingleton<IngestionHealth>();
        services.TryAddSingleton<Core.Health.HealthRegistry>();
        // A factory: the service is public (the host and the CLI read its counters) but takes internal collaborators,
        // so its constructor is internal and the container cannot pick it by itself.
        services.TryAddSingleton(sp => new KafkaIngestService(
            sp.GetRequiredService<KafkaConnection>(),
            sp.GetRequiredService<IOptions<KafkaOptions>>(),
            sp.GetRequiredService<IDetectionIngress>(),
            sp.GetRequiredService<EventEnrichment>(),
            sp.GetRequiredService<DeadLetterPublisher>(),
            sp.GetRequiredService<KafkaMetrics>(),
            sp.GetRequiredService<IngestionHealth>(),
            sp.GetRequiredService<ILogger<KafkaIngestService>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<Core.Health.HealthRegistry>(),
            sp.GetService<IWorkloadStateStore>(),
            sp.GetService<IAlertPublisher>()));
        services.TryAddSingleton<KafkaStateStore>();
        var stateTopic = configuration.GetSection(KafkaOptions.SectionName)[nameof(KafkaOptions.StateTopic)];
        if (stateTopic is null || stateTopic.Length > 0)
        {
            services.Replace(ServiceDescriptor.Singleton<Core.Workloads.IWorkloadStateStore>(sp => sp.GetRequiredService<KafkaStateStore>()));
        }

        var alertsTopic = configuration.GetSection(KafkaOptions.SectionName)[nameof(KafkaOptions.AlertsTopic)];
        if (alertsTopic is null || alertsTopic.Length > 0)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, KafkaAlertSink>());
        }

        services.TryAddSingleton<FeedbackConsumer>();
        services.AddHostedService(sp => sp.GetRequiredService<KafkaIngestService>());
        services.AddHostedService(sp => sp.GetRequiredService<FeedbackConsumer>());
        return services;
    }
}
