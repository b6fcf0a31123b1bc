using System.CommandLine;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Daemon;
using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Kafka;

var configOption = new Option<string?>("--config") { Description = "JSON configuration file (same shape as appsettings.json)." };
var alertsFileOption = new Option<string?>("--alerts-file") { Description = "Also append alerts as JSON lines to this file." };
var listenOption = new Option<string?>("--listen") { Description = "Address for /metrics, /healthz, /readyz (default 127.0.0.1:9464)." };
var bootstrapOption = new Option<string?>("--bootstrap-servers") { Description = "Kafka brokers, or 'embedded'." };
var topicsOption = new Option<string[]>("--topic") { Description = "Event topic to consume (repeatable).", AllowMultipleArgumentsPerToken = true };
var groupOption = new Option<string?>("--group") { Description = "Kafka consumer group id." };
var durationOption = new Option<int?>("--duration") { Description = "Stop after this many seconds and print a summary (default: run until Ctrl+C)." };
var learningOption = new Option<int>("--learning") { Description = "Seconds each demo workload learns before alerting.", DefaultValueFactory = _ => 30 };
var seedOption = new Option<int>("--seed") { Description = "Seed of the demo's behaviour generator.", DefaultValueFactory = _ => 7 };

var run = new Command("run", "Run the daemon against the configured Kafka (production).")
{
    configOption, alertsFileOption, listenOption, bootstrapOption, topicsOption, groupOption, durationOption,
};
run.SetAction((parse, ct) =>
{
    var overrides = CommonOverrides(parse.GetValue(alertsFileOption), parse.GetValue(listenOption));
    if (parse.GetValue(bootstrapOption) is { } b)
    {
        overrides["Kafka:BootstrapServers"] = b;
    }

    if (parse.GetValue(topicsOption) is { Length: > 0 } topics)
    {
        for (var i = 0; i < topics.Length; i++)
        {
            overrides[$"Kafka:Topics:{i}"] = topics[i];
        }
    }

    if (parse.GetValue(groupOption) is { } g)
    {
        overrides["Kafka:GroupId"] = g;
    }

    return RunHostAsync(SentinelHost.Build(parse.GetValue(configOption), overrides), parse.GetValue(durationOption), null, ct);
});

var demo = new Command("demo", "Embedded Kafka + generated workloads: learn, then catch injected attacks.")
{
    alertsFileOption, listenOption, durationOption, learningOption, seedOption,
};
demo.SetAction((parse, ct) =>
{
    var overrides = CommonOverrides(parse.GetValue(alertsFileOption), parse.GetValue(listenOption));
    overrides["Kafka:BootstrapServers"] = KafkaOptions.Embedded;
    overrides["Kafka:Topics:0"] = "sentinel.events";
    overrides["Kafka:GroupId"] = "sentinel-demo";
    overrides["Kafka:SessionTimeoutMs"] = "6000";
    overrides["Kafka:HeartbeatIntervalMs"] = "500";
    overrides["Kafka:StatisticsIntervalMs"] = "2000";
    overrides["Detection:LearningDuration"] = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(learningOption))).ToString("c");
    overrides["Detection:MinLearningEvents"] = "300";
    overrides["Demo:Seed"] = parse.GetValue(seedOption).ToString(System.Globalization.CultureInfo.InvariantCulture);
    var tally = new DemoTally();
    var app = SentinelHost.Build(null, overrides, (services, config) =>
    {
        services.AddOptions<DemoOptions>().Bind(config.GetSection(DemoOptions.SectionName));
        services.AddSingleton<IAlertSink>(tally);
        services.AddSingleton<DemoEventGenerator>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoEventGenerator>());
    });
    return RunHostAsync(app, parse.GetValue(durationOption), () => PrintDemoSummary(app, tally), ct);
});

var root = new RootCommand("RuntimeSentinel: learns each container workload's runtime behaviour from Kafka and alerts on what departs from it.")
{
    run, demo,
};
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);

static Dictionary<string, string?> CommonOverrides(string? alertsFile, string? listen)
{
    var o = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
    if (alertsFile is not null)
    {
        o["Alerting:File"] = alertsFile;
    }

    if (listen is not null)
    {
        o["Http:Listen"] = listen;
    }

    return o;
}

static async Task<int> RunHostAsync(WebApplication app, int? durationSeconds, Func<int>? summary, CancellationToken ct)
{
    // Validate every options section before anything starts, so one run lists every mistake at once.
    var failures = SentinelHost.ValidateAll(app.Services);
    if (failures.Count > 0)
    {
        await Console.Error.WriteLineAsync("Configuration is invalid:").ConfigureAwait(false);
        foreach (var failure in failures)
        {
            await Console.Error.WriteLineAsync("  - " + failure).ConfigureAwait(false);
        }

        await app.DisposeAsync().ConfigureAwait(false);
        return 2;
    }

    await app.StartAsync(CancellationToken.None).ConfigureAwait(false);

    await Console.Error.WriteLineAsync($"RuntimeSentinel serving /metrics /healthz /readyz on {SentinelHost.BoundAddress(app)}").ConfigureAwait(false);
    var stopping = app.Lifetime.ApplicationStopping;
    using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, ct);
    try
    {
        await Task.Delay(durationSeconds is { } s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan, both.Token).ConfigureAwait(false);
    }
    catch (OperationCanceledException)
    {
    }

    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    var health = app.Services.GetRequiredService<IngestionHealth>();
    var code = health.Faulted ? 1 : summary?.Invoke() ?? 0;
    await app.DisposeAsync().ConfigureAwait(false);
    return code;
}

static int PrintDemoSummary(WebApplication app, DemoTally tally)
{
    var generator = app.Services.GetRequiredService<DemoEventGenerator>();
    var ingest = app.Services.GetRequiredService<KafkaIngestService>();
    Console.WriteLine();
    Console.WriteLine("=== RuntimeSentinel demo summary ===");
    Console.WriteLine($"events produced: {generator.Produced}   consumed: {ingest.EventsIngested}   malformed sent: {generator.MalformedSent}   dead-lettered: {ingest.MessagesRejected}");
    Console.WriteLine($"learning ended:  {(generator.LearningEndedAt is { } t ? t.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "not yet (run longer)")}");
    Console.WriteLine($"alerts: {tally.Total} total");
    foreach (var (category, n) in tally.ByCategory)
    {
        Console.WriteLine($"  {category,-20} {n}");
    }

    Console.WriteLine("attacks:");
    var scenarios = tally.ByScenario;
    foreach (var attack in DemoScenario.AttackNames)
    {
        var injected = generator.AttacksInjected.Contains(attack);
        var alerts = scenarios.GetValueOrDefault("attack:" + attack);
        Console.WriteLine($"  {attack,-16} {(injected ? "injected" : "not injected"),-13} {(alerts > 0 ? $"DETECTED ({alerts} alerts)" : injected ? "MISSED" : "-")}");
    }

    Console.WriteLine($"alerts on normal behaviour after learning: {tally.NormalAfterLearning}");
    return 0;
}
