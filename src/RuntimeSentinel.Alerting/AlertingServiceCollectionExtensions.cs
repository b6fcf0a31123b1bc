using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

public static class AlertingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the dispatcher (as <see cref="IAlertPublisher"/> and a hosted service) and the console and file
    /// sinks chosen in configuration. Call before detection and ingestion so the host stops delivery last.
    /// </summary>
    public static IServiceCollection AddSentinelAlerting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AlertingOptions>().Bind(configuration.GetSection(AlertingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AlertingOptions>, AlertingOptionsValidator>());
        services.TryAddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.TryAddSingleton<AlertingMetrics>();
        services.TryAddSingleton<AlertDispatcher>();
        services.TryAddSingleton<IAlertPublisher>(sp => sp.GetRequiredService<AlertDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<AlertDispatcher>());

        var o = configuration.GetSection(AlertingOptions.SectionName).Get<AlertingOptions>() ?? new AlertingOptions();
        if (o.Console)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, ConsoleAlertSink>(_ => new ConsoleAlertSink()));
        }

        if (!string.IsNullOrWhiteSpace(o.File))
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, JsonLinesFileAlertSink>(_ => new JsonLinesFileAlertSink(o.File)));
        }

        return services;
    }
}

public sealed class AlertingOptionsValidator : IValidateOptions<AlertingOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertingOptions o)
    {
        var errors = new List<string>();
        if (o.QueueCapacity < 1)
        {
            errors.Add("Alerting:QueueCapacity must be at least 1.");
        }

        if (o.MaxBatchSize < 1)
        {
            errors.Add("Alerting:MaxBatchSize must be at least 1.");
        }

        if (!string.IsNullOrWhiteSpace(o.File))
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(o.File));
            if (Directory.Exists(o.File))
            {
                errors.Add($"Alerting:File '{o.File}' is a directory; give a file path.");
            }
            else if (!string.IsNullOrEmpty(dir) && File.Exists(dir))
            {
                errors.Add($"Alerting:File '{o.File}': parent '{dir}' is a file.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
