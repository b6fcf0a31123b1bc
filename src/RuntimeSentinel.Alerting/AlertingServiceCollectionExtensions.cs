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
    /// Registers the dispatcher (as <see cref="IAlertPublisher"/> and a hosted service) and the sinks chosen in
    /// configuration. Call before detection and ingestion so the host stops delivery last.
    /// </summary>
    public static IServiceCollection AddSentinelAlerting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AlertingOptions>().Bind(configuration.GetSection(AlertingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AlertingOptions>, AlertingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.TryAddSingleton<AlertingMetrics>();
        services.TryAddSingleton<Core.Health.HealthRegistry>();
        services.TryAddSingleton<AlertDispatcher>();
        services.TryAddSingleton<IAlertPublisher>(sp => sp.GetRequiredService<AlertDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<AlertDispatcher>());

        // Which sinks exist is decided here, from configuration; each sink is built from the validated options.
        var o = configuration.GetSection(AlertingOptions.SectionName).Get<AlertingOptions>() ?? new AlertingOptions();
        if (o.Console)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, ConsoleAlertSink>(_ => new ConsoleAlertSink()));
        }

        if (!string.IsNullOrWhiteSpace(o.File))
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, JsonLinesFileAlertSink>(sp => new JsonLinesFileAlertSink(Options(sp).File!, Options(sp).RunbookUrlTemplate, Options(sp).SchemaFor("File"))));
        }

        if (o.Webhook.Enabled)
        {
            AddHttpSink(services, "sentinel-webhook", a => a.Webhook, (sp, http, a) => new WebhookAlertSink(http, a.Webhook, a.RunbookUrlTemplate, sp.GetRequiredService<TimeProvider>(), a.SchemaFor("Webhook")));
        }

        if (o.Alertmanager.Enabled)
        {
            AddHttpSink(services, "sentinel-alertmanager", a => a.Alertmanager, (sp, http, a) => new AlertmanagerAlertSink(http, a.Alertmanager, a.RunbookUrlTemplate, a, sp.GetRequiredService<TimeProvider>()));
        }

        if (o.Slack.Enabled)
        {
            AddHttpSink(services, "sentinel-slack", a => a.Slack, (_, http, a) => new SlackAlertSink(http, a.Slack, a.RunbookUrlTemplate));
        }

        return services;
    }

    private static AlertingOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptions<AlertingOptions>>().Value;

    /// <summary>An HTTP sink with its own named client: its timeout from its options, no redirects followed.</summary>
    private static void AddHttpSink<T>(IServiceCollection services, string client, Func<AlertingOptions, EndpointOptions> endpoint, Func<IServiceProvider, Func<HttpClient>, AlertingOptions, T> create)
        where T : class, IAlertSink
    {
        // A redirect is not an acknowledgement: deliveries must be answered 2xx by the configured URL itself.
        services.AddHttpClient(client)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .ConfigureHttpClient((sp, http) => http.Timeout = endpoint(Options(sp)).Timeout);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAlertSink, T>(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return create(sp, () => factory.CreateClient(client), Options(sp));
        }));
    }
}

/// <summary>Reports every invalid alerting setting at once.</summary>
internal sealed class AlertingOptionsValidator : IValidateOptions<AlertingOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertingOptions o)
    {
        var errors = new List<string>();
        void Positive(int v, string key)
        {
            if (v < 1)
            {
                errors.Add($"Alerting:{key} must be at least 1.");
            }
        }

        Positive(o.QueueCapacity, nameof(o.QueueCapacity));
        Positive(o.SinkQueueCapacity, nameof(o.SinkQueueCapacity));
        Positive(o.MaxBatchSize, nameof(o.MaxBatchSize));
        Positive(o.RetryAttempts, nameof(o.RetryAttempts));
        Positive(o.MaxOpenIncidents, nameof(o.MaxOpenIncidents));
        Positive(o.MaxIncidentsPerWorkloadPerHour, nameof(o.MaxIncidentsPerWorkloadPerHour));
        Positive(o.MaxIncidentsPerMinute, nameof(o.MaxIncidentsPerMinute));
        void PositiveTime(TimeSpan v, string key)
        {
            if (v <= TimeSpan.Zero)
            {
                errors.Add($"Alerting:{key} must be positive.");
            }
        }

        // A negative delay would make a sink's retry or back-off wait throw (and that sink deliver nothing more).
        void NotNegative(TimeSpan v, string key)
        {
            if (v < TimeSpan.Zero)
            {
                errors.Add($"Alerting:{key} must not be negative.");
            }
        }

        PositiveTime(o.IncidentWindow, nameof(o.IncidentWindow));
        PositiveTime(o.IncidentGroupInterval, nameof(o.IncidentGroupInterval));
        NotNegative(o.IncidentGroupWait, nameof(o.IncidentGroupWait));
        NotNegative(o.ProcesslessJoinWindow, nameof(o.ProcesslessJoinWindow));
        NotNegative(o.BatchDelay, nameof(o.BatchDelay));
        NotNegative(o.RetryBaseDelay, nameof(o.RetryBaseDelay));
        NotNegative(o.MaxBackoff, nameof(o.MaxBackoff));

        if (o.SpillMaxBytes < 1024 * 1024)
        {
            errors.Add("Alerting:SpillMaxBytes must be at least 1 MiB.");
        }

        if (string.IsNullOrWhiteSpace(o.SpillDirectory))
        {
            errors.Add("Alerting:SpillDirectory must be set (a writable directory; in a pod, an emptyDir or volume).");
        }

        if (!IncidentSchemas.TryParse(o.Schema, out _))
        {
            errors.Add($"Alerting:Schema '{o.Schema}' is not a schema: use {string.Join(", ", IncidentSchemas.Names)}.");
        }

        foreach (var (sink, value) in o.Schemas)
        {
            if (!AlertingOptions.SchemaSinks.Contains(sink, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Alerting:Schemas:{sink}: only {string.Join(", ", AlertingOptions.SchemaSinks)} render a document schema (the console, Alertmanager and Slack keep their own forms).");
            }
            else if (!string.IsNullOrWhiteSpace(value) && !IncidentSchemas.TryParse(value, out _))
            {
                errors.Add($"Alerting:Schemas:{sink} '{value}' is not a schema: use {string.Join(", ", IncidentSchemas.Names)}.");
            }
        }

        if (!string.IsNullOrWhiteSpace(o.File) && Directory.Exists(o.File))
        {
            errors.Add($"Alerting:File '{o.File}' is a directory; give a file path.");
        }

        foreach (var (key, endpoint) in new[] { ("Webhook", (EndpointOptions)o.Webhook), ("Alertmanager", o.Alertmanager), ("Slack", o.Slack) })
        {
            if (!endpoint.Enabled)
            {
                continue;
            }

            if (!string.IsNullOrWhiteSpace(endpoint.Url) && !string.IsNullOrWhiteSpace(endpoint.UrlFile))
            {
                errors.Add($"Alerting:{key}: give Url or UrlFile, not both.");
                continue;
            }

            if (!string.IsNullOrWhiteSpace(endpoint.UrlFile) && !File.Exists(endpoint.UrlFile))
            {
                errors.Add($"Alerting:{key}:UrlFile '{endpoint.UrlFile}' does not exist.");
                continue;
            }

            // Never echo a URL read from a file: it is a secret.
            var url = endpoint.ResolveUrl();
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                errors.Add(string.IsNullOrWhiteSpace(endpoint.UrlFile) ? $"Alerting:{key}:Url '{endpoint.Url}' must be an absolute http(s) URL." : $"Alerting:{key}:UrlFile must hold an absolute http(s) URL.");
            }
        }

        foreach (var pattern in o.Redact.Patterns)
        {
            if (!ArgumentRedactor.IsValidPattern(pattern, out var problem))
            {
                errors.Add($"Alerting:Redact:Patterns: '{pattern}' is not a valid regular expression: {problem}");
            }
        }

        if (!string.IsNullOrEmpty(o.Webhook.SecretFile) && !File.Exists(o.Webhook.SecretFile))
        {
            errors.Add($"Alerting:Webhook:SecretFile '{o.Webhook.SecretFile}' does not exist.");
        }

        if (!string.IsNullOrEmpty(o.SuppressionFile))
        {
            if (!File.Exists(o.SuppressionFile))
            {
                errors.Add($"Alerting:SuppressionFile '{o.SuppressionFile}' does not exist.");
            }
            else
            {
                errors.AddRange(SuppressionRules.Parse(File.ReadAllText(o.SuppressionFile), o.SuppressionFile).Errors);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
