using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// Builds the daemon: configuration (appsettings.json, an optional --config file, SENTINEL_* environment
/// variables, then command-line overrides), the pipeline services in stop order, and the HTTP endpoints.
/// </summary>
internal static class SentinelHost
{
    public static WebApplication Build(string? configFile, IDictionary<string, string?> overrides, Action<IServiceCollection, IConfiguration>? extra = null, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddEnvironmentVariables("SENTINEL_");
        builder.Configuration.AddInMemoryCollection(overrides);
        configure?.Invoke(builder.Configuration);

        // Logs go to stderr so stdout carries only alerts (console sink) and summaries.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        var services = builder.Services;
        var config = builder.Configuration;
        services.AddOptions<HttpOptions>().Bind(config.GetSection(HttpOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpOptions>, HttpOptionsValidator>());
        var http = config.GetSection(HttpOptions.SectionName).Get<HttpOptions>() ?? new HttpOptions();
        services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = http.ShutdownTimeout;
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            if (HttpOptions.TryParseListen(http.Listen, out var endpoint))
            {
                k.Listen(endpoint!);
            }
        });

        services.AddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.AddSingleton(TimeProvider.System);

        // Registration order is start order; the host stops in reverse: ingestion (drains detection, commits),
        // then alert delivery, so nothing detected is left undelivered.
        services.AddSentinelAlerting(config);
        services.AddSentinelDetection(config);
        services.AddSentinelKafka(config);
        extra?.Invoke(services, config);

        var app = builder.Build();
        app.MapGet("/healthz", (IngestionHealth h) => h.IsLive
            ? Results.Text("ok\n")
            : Results.Text($"unhealthy: {(h.Faulted ? h.FaultReason : $"consume loop idle for {h.SinceLastLoop.TotalSeconds:0} s")}\n", statusCode: 503));
        app.MapGet("/readyz", (IngestionHealth h) => h.IsReady
            ? Results.Text($"ready: {h.AssignedPartitions} partitions assigned\n")
            : Results.Text(h.Faulted ? $"not ready: {h.FaultReason}\n" : "not ready: waiting to join the consumer group\n", statusCode: 503));
        app.MapMetrics("/metrics");
        app.MapGet("/workloads", (DetectionPipeline pipeline, string? q, int? limit) => WorkloadsEndpoint.HandleAsync(pipeline, q, limit));
        return app;
    }

    /// <summary>Every validation failure of every options section (empty when the configuration is valid).</summary>
    public static List<string> ValidateAll(IServiceProvider services)
    {
        var failures = new List<string>();
        Collect<HttpOptions>(services, failures);
        Collect<KafkaOptions>(services, failures);
        Collect<DetectionOptions>(services, failures);
        Collect<AlertingOptions>(services, failures);
        return failures;
    }

    private static void Collect<T>(IServiceProvider services, List<string> failures)
        where T : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            failures.AddRange(ex.Failures);
        }
        catch (InvalidOperationException ex)
        {
            // Binding errors (e.g. "abc" for a number) surface here.
            failures.Add($"{typeof(T).Name}: {ex.Message}");
        }
    }

    /// <summary>The address Kestrel actually bound (useful with port 0).</summary>
    public static string? BoundAddress(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault();
}
