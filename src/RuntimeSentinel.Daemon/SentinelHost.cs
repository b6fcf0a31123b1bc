using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// Builds the daemon: configuration (appsettings.json, an optional --config file, SENTINEL_* environment
/// variables, then the command's typed profile), the pipeline services in stop order, and the HTTP endpoints.
/// </summary>
internal static class SentinelHost
{
    public static WebApplication Build(string? configFile, Cli.HostProfile profile, Action<IServiceCollection, IConfiguration>? extra = null, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddEnvironmentVariables("SENTINEL_");
        builder.Configuration.AddInMemoryCollection(profile.ToConfiguration());
        configure?.Invoke(builder.Configuration);

        // Logs go to stderr so stdout carries only alerts (console sink) and summaries.
        builder.Logging.ClearProviders();
        // One line per entry, control characters escaped (SentinelConsoleFormatter): messages quote what events said.
        builder.Logging.AddConsole(o => o.FormatterName = SentinelConsoleFormatter.FormatterName)
            .AddConsoleFormatter<SentinelConsoleFormatter, ConsoleFormatterOptions>();
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

            // The admin listener marks its connections, so /workloads (which names every workload this node sees)
            // is answered there only, never on the scrape port a NetworkPolicy opens to Prometheus.
            if (!string.IsNullOrEmpty(http.AdminListen) && HttpOptions.TryParseListen(http.AdminListen, out var admin))
            {
                k.Listen(admin!, listen => listen.Use(next => connection =>
                {
                    connection.Items[AdminConnection] = true;
                    return next(connection);
                }));
            }
        });

        services.AddSingleton<IMetricFactory>(_ => Metrics.DefaultFactory);
        services.AddSingleton(TimeProvider.System);

        // Registration order is start order; the host stops in reverse: ingestion (stops sending, completes
        // detection, commits), then detection's service, then alert delivery, so nothing detected is left undelivered.
        services.AddSentinelAlerting(config);
        services.AddSentinelDetection(config);
        services.AddSentinelKafka(config);
        extra?.Invoke(services, config);

        services.TryAddSingleton<HealthMetrics>();
        var app = builder.Build();
        _ = app.Services.GetRequiredService<HealthMetrics>();
        app.MapGet("/healthz", (IngestionHealth h, HealthRegistry stages) => Healthz(h, stages));
        app.MapGet("/readyz", (IngestionHealth h, HealthRegistry stages) => Readyz(h, stages));
        app.MapMetrics("/metrics");
        app.MapGet("/workloads", (HttpContext context, DetectionPipeline pipeline, string? q, int? limit) =>
            IsAdmin(context) ? WorkloadsEndpoint.HandleAsync(pipeline, q, limit) : Task.FromResult(Results.NotFound()));
        return app;
    }

    /// <summary>Key of the connection item set on the admin listener's connections.</summary>
    internal const string AdminConnection = "sentinel.admin";

    private static bool IsAdmin(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items.TryGetValue(AdminConnection, out var v) == true && v is true;

    /// <summary>Live unless ingestion faulted or stalled, or any supervised loop ended on an error (the pod must restart).</summary>
    internal static IResult Healthz(IngestionHealth h, HealthRegistry stages)
    {
        var faulted = stages.Faulted.ToList();
        if (h.IsLive && faulted.Count == 0)
        {
            return Results.Text("ok\n");
        }

        var reasons = faulted.Select(s => $"{s.Name} stopped: {s.Reason}").ToList();
        if (!h.IsLive)
        {
            reasons.Insert(0, h.Faulted ? $"ingest: {h.FaultReason}" : $"consume loop idle for {h.SinceLastLoop.TotalSeconds:0} s");
        }

        return Results.Text("unhealthy: " + string.Join("; ", reasons) + "\n", statusCode: 503);
    }

    internal static IResult Readyz(IngestionHealth h, HealthRegistry stages)
    {
        var faulted = stages.Faulted.ToList();
        if (h.IsReady && faulted.Count == 0)
        {
            var degraded = stages.Degraded.Select(s => $"{s.Name} degraded: {s.Reason}").ToList();
            return Results.Text($"ready: {h.AssignedPartitions} partitions assigned{(degraded.Count == 0 ? "" : "; " + string.Join("; ", degraded))}\n");
        }

        var why = h.Faulted ? h.FaultReason
            : faulted.Count > 0 ? string.Join("; ", faulted.Select(s => $"{s.Name} stopped: {s.Reason}"))
            : h.BlockedPartitions.Count > 0 ? $"partitions {string.Join(", ", h.BlockedPartitions)} paused: their dead-letter topic cannot be written ({h.BlockedReason})"
            : "waiting to join the consumer group";
        return Results.Text($"not ready: {why}\n", statusCode: 503);
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

    /// <summary>The address Kestrel actually bound for /metrics (useful with port 0).</summary>
    public static string? BoundAddress(WebApplication app) => BoundAddresses(app).FirstOrDefault();

    /// <summary>The admin listener's bound address (listeners bind in the order configured: metrics, then admin).</summary>
    public static string? AdminAddress(WebApplication app) =>
        string.IsNullOrEmpty(app.Services.GetRequiredService<IOptions<HttpOptions>>().Value.AdminListen) ? null : BoundAddresses(app).Skip(1).FirstOrDefault();

    private static ICollection<string> BoundAddresses(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
}
