using System.CommandLine;
using Confluent.Kafka;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Daemon;
using RuntimeSentinel.Daemon.Cli;
using RuntimeSentinel.Daemon.Demo;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.Lab.Recordings;

// prometheus-net's EventCounter adapter and debug metrics publish names that break Prometheus conventions
// (`*_count` gauges, also from the System.Runtime meter); process_* and dotnet_* runtime metrics stay, and
// `promtool check metrics` is clean.
Prometheus.Metrics.SuppressDefaultMetrics(new Prometheus.SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressDebugMetrics = true, SuppressMeters = true });

var configOption = new Option<string?>("--config") { Description = "JSON configuration file (same shape as appsettings.json)." };
var alertsFileOption = new Option<string?>("--alerts-file") { Description = "Also append alerts as JSON lines to this file." };
var listenOption = new Option<string?>("--listen") { Description = "Address for /metrics, /healthz, /readyz (default 127.0.0.1:9464)." };
var adminListenOption = new Option<string?>("--admin-listen") { Description = "Address for the read-only admin endpoint /workloads (default 127.0.0.1:9465; empty: none)." };
var bootstrapOption = new Option<string?>("--bootstrap-servers") { Description = "Kafka brokers, or 'embedded'." };
var topicsOption = new Option<string[]>("--topic") { Description = "Event topic to consume (repeatable).", AllowMultipleArgumentsPerToken = true };
var groupOption = new Option<string?>("--group") { Description = "Kafka consumer group id." };
var durationOption = new Option<int?>("--duration") { Description = "Stop after this many seconds and print a summary (default: run until Ctrl+C)." };
var learningOption = new Option<int>("--learning") { Description = "Seconds each demo workload learns before alerting.", DefaultValueFactory = _ => 45 };
var seedOption = new Option<int>("--seed") { Description = "Seed of the demo's behaviour generator.", DefaultValueFactory = _ => 7 };

var runModelsOption = new Option<string?>("--models") { Description = "Model folder to hot-swap promoted versions from (Detection:Models:Directory)." };
var run = new Command("run", "Run the daemon against the configured Kafka (production).")
{
    configOption, alertsFileOption, listenOption, adminListenOption, bootstrapOption, topicsOption, groupOption, durationOption, runModelsOption,
};
run.SetAction((parse, ct) =>
{
    var overrides = CommonOverrides(parse.GetValue(alertsFileOption), parse.GetValue(listenOption), parse.GetValue(adminListenOption));
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

    if (parse.GetValue(runModelsOption) is { } m)
    {
        overrides["Detection:Models:Directory"] = Path.GetFullPath(m);
    }

    return RunHostAsync(SentinelHost.Build(parse.GetValue(configOption), overrides), parse.GetValue(durationOption), null, ct);
});

var demo = new Command("demo", "Embedded Kafka + generated workloads: learn, then catch injected attacks.")
{
    alertsFileOption, listenOption, adminListenOption, durationOption, learningOption, seedOption,
};
demo.SetAction((parse, ct) =>
{
    var overrides = CommonOverrides(parse.GetValue(alertsFileOption), parse.GetValue(listenOption), parse.GetValue(adminListenOption));
    overrides["Kafka:BootstrapServers"] = KafkaOptions.Embedded;
    overrides["Kafka:Topics:0"] = "sentinel.events";
    overrides["Kafka:GroupId"] = "sentinel-demo";
    overrides["Kafka:SessionTimeoutMs"] = "6000";
    overrides["Kafka:HeartbeatIntervalMs"] = "500";
    overrides["Kafka:StatisticsIntervalMs"] = "2000";
    overrides["Detection:LearningDuration"] = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(learningOption))).ToString("c");
    overrides["Detection:MinLearningEvents"] = "300";

    // The demo compresses time: half-second behaviour windows give the models enough windows in under a minute
    // of learning; attacks start once the shadow (a quarter of learning, 2-10 s) has confirmed the thresholds.
    overrides["Detection:Models:Window"] = "00:00:00.5";
    overrides["Detection:Models:ShadowDuration"] = TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(learningOption) / 4.0, 2, 10)).ToString("c");
    overrides["Detection:Models:SeasonPeriod"] = "00:00:00";
    // A processless model alert (a CPU spike) joins its workload's incident within three windows, as 30 s is three of
    // the default 10 s windows; with half-second windows, attacks seconds apart stay separate incidents.
    overrides["Alerting:ProcesslessJoinWindow"] = "00:00:01.5";
    // The demo's analysts are the reader of this terminal: verdicts need no signature here (never in production).
    overrides["Kafka:FeedbackAllowUnsigned"] = "true";
    overrides["Demo:Seed"] = parse.GetValue(seedOption).ToString(System.Globalization.CultureInfo.InvariantCulture);
    var tally = new DemoTally();
    var app = SentinelHost.Build(null, overrides, (services, config) =>
    {
        services.AddOptions<DemoOptions>().Bind(config.GetSection(DemoOptions.SectionName));
        services.AddSingleton<IIncidentObserver>(tally);
        services.AddSingleton<DemoEventGenerator>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoEventGenerator>());
    });
    return RunHostAsync(app, parse.GetValue(durationOption), () => PrintDemoSummary(app, tally), ct);
});

var fromOption = new Option<string>("--from") { Description = "Input format: auto, native, tetragon, falco, tracee, hubble.", DefaultValueFactory = _ => "auto" };
var filesArgument = new Argument<string[]>("files") { Description = "Input files (JSON lines or one JSON document each); none or '-' reads standard input.", Arity = ArgumentArity.ZeroOrMore };
var convert = new Command("convert", "Decode sensor or native events and write native schema v1 JSON lines to stdout.")
{
    fromOption, filesArgument,
};
convert.SetAction(async (parse, ct) =>
{
    var stdout = Console.OpenStandardOutput();
    return await ConvertCommand.RunAsync(parse.GetValue(fromOption)!, parse.GetValue(filesArgument) ?? [], Console.Error, stdout).ConfigureAwait(false);
});

var replayFiles = new Argument<string[]>("files") { Description = "JSON-lines files (any format), LID-DS recordings (.zip) or the ADFA-LD archive (.zip).", Arity = ArgumentArity.OneOrMore };
var replayTopic = new Option<string>("--topic") { Description = "Topic to publish to.", DefaultValueFactory = _ => "sentinel.events" };
var speedOption = new Option<string>("--speed") { Description = "'max' (as fast as possible) or a multiple of the recorded pace, e.g. 10x.", DefaultValueFactory = _ => "max" };
var rawOption = new Option<bool>("--raw") { Description = "Publish JSON lines as they are instead of converted to native events." };
var jsonOption = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
var replayLearning = new Option<double>("--learning") { Description = "Embedded daemon: seconds of event time each workload learns.", DefaultValueFactory = _ => 5 };
var replayBootstrap = new Option<string>("--bootstrap-servers") { Description = "Kafka to publish to; 'embedded' (default) also runs the daemon in this process and reports what it detected.", DefaultValueFactory = _ => KafkaOptions.Embedded };
var replay = new Command("replay", "Publish recorded events into Kafka, preserving per-workload order and (optionally) pacing.")
{
    replayFiles, fromOption, replayTopic, speedOption, rawOption, jsonOption, replayLearning, replayBootstrap, alertsFileOption, listenOption,
};
replay.SetAction(async (parse, ct) =>
{
    var files = parse.GetValue(replayFiles) ?? [];
    var format = parse.GetValue(fromOption)!;
    var topic = parse.GetValue(replayTopic)!;
    var json = parse.GetValue(jsonOption);
    if (!ReplayCommand.TryParseSpeed(parse.GetValue(speedOption), out var speed) || !EventFormats.IsKnown(format) || files.Any(f => !File.Exists(f)))
    {
        await Console.Error.WriteLineAsync("replay: check --speed (max or e.g. 10x), --from and that every file exists").ConfigureAwait(false);
        return 2;
    }

    var records = files.SelectMany(f => EventSources.Read(f, format));
    var exploit = files.Where(f => f.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)).Select(TryExploitTime).FirstOrDefault(t => t is not null);
    var bootstrap = parse.GetValue(replayBootstrap)!;
    if (!string.Equals(bootstrap, KafkaOptions.Embedded, StringComparison.OrdinalIgnoreCase))
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All, EnableIdempotence = true, LingerMs = 5 }).Build();
        var report = await ReplayCommand.PublishAsync(producer, topic, records, speed, parse.GetValue(rawOption), Console.Error, ct).ConfigureAwait(false);
        Console.WriteLine(ReplayCommand.Summarize(report, [], exploit, json));
        return report.Rejected == 0 ? 0 : 1;
    }

    // Embedded: run the daemon here, with event-time learning so any replay speed behaves like the recording.
    var overrides = CommonOverrides(parse.GetValue(alertsFileOption), parse.GetValue(listenOption) ?? "127.0.0.1:0", adminListen: "");
    overrides["Kafka:BootstrapServers"] = KafkaOptions.Embedded;
    overrides["Kafka:Topics:0"] = topic;
    overrides["Kafka:GroupId"] = "sentinel-replay";
    overrides["Kafka:SessionTimeoutMs"] = "6000";
    overrides["Kafka:HeartbeatIntervalMs"] = "500";
    overrides["Detection:Clock"] = "event";
    overrides["Detection:LearningDuration"] = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(replayLearning))).ToString("c");
    overrides["Detection:MinLearningEvents"] = "100";
    overrides["Alerting:Console"] = json ? "false" : "true";
    var collected = new CollectingIncidents();
    var app = SentinelHost.Build(null, overrides, (services, _) => services.AddSingleton<IIncidentObserver>(collected));
    var failures = SentinelHost.ValidateAll(app.Services);
    if (failures.Count > 0)
    {
        failures.ForEach(f => Console.Error.WriteLine("  - " + f));
        return 2;
    }

    await app.StartAsync(CancellationToken.None).ConfigureAwait(false);
    var ingest = app.Services.GetRequiredService<KafkaIngestService>();
    var published = await ReplayCommand.PublishAsync(app.Services.GetRequiredService<KafkaProducer>().Producer, topic, records, speed, parse.GetValue(rawOption), Console.Error, ct).ConfigureAwait(false);
    var deadline = DateTime.UtcNow.AddSeconds(120);
    while (ingest.EventsIngested + ingest.MessagesRejected < published.Published && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
    {
        await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
    }

    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    Console.WriteLine(ReplayCommand.Summarize(published, collected.Alerts, exploit, json));
    await app.DisposeAsync().ConfigureAwait(false);
    return published.Rejected == 0 ? 0 : 1;
});

var dataOption = new Option<string>("--data") { Description = "Folder holding ADFA-LD-traces.zip and manifest.csv.", Required = true };
var sequenceModelOption = new Option<string>("--model") { Description = "Sequence model: ngram (default) or lstm (neural, slower).", DefaultValueFactory = _ => "ngram" };
sequenceModelOption.AcceptOnlyFromAmong("ngram", "lstm");
var epochsOption = new Option<int>("--epochs") { Description = "LSTM training epochs.", DefaultValueFactory = _ => 30 };
var hiddenOption = new Option<int>("--hidden") { Description = "LSTM hidden units.", DefaultValueFactory = _ => 200 };
var adfa = new Command("adfa-ld", "Train the syscall-sequence model on ADFA-LD training traces; score validation and attack traces.")
{
    dataOption, jsonOption, sequenceModelOption, epochsOption, hiddenOption,
};
adfa.SetAction((parse, _) => AdfaLdEvaluation.RunAsync(parse.GetValue(dataOption)!, parse.GetValue(jsonOption), Console.Out, Console.Error, parse.GetValue(sequenceModelOption)!, parse.GetValue(epochsOption), parse.GetValue(hiddenOption)));
var secondsOption = new Option<int>("--seconds") { Description = "Seconds of event time to generate.", DefaultValueFactory = _ => 600 };
var startOption = new Option<DateTimeOffset>("--start") { Description = "Event time of the first tick.", DefaultValueFactory = _ => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) };
var attacksAfterOption = new Option<int?>("--attacks-after") { Description = "Inject the demo attacks from this second on, one every --attack-every seconds, cycling (default: none)." };
var attackEveryOption = new Option<int>("--attack-every") { Description = "Seconds between injected attacks.", DefaultValueFactory = _ => 10 };
var demoEvents = new Command("demo-events", "Write the demo's generated workloads (and optionally its attacks, labelled scenario=attack:*) as JSON lines, on a simulated clock: data for train and evaluate.")
{
    secondsOption, startOption, attacksAfterOption, attackEveryOption, seedOption,
};
demoEvents.SetAction(async (parse, ct) =>
{
    var scenario = new DemoScenario(parse.GetValue(seedOption));
    var start = parse.GetValue(startOption);
    var attacksAfter = parse.GetValue(attacksAfterOption);
    var every = Math.Max(1, parse.GetValue(attackEveryOption));
    await using var stdout = Console.OpenStandardOutput();
    var nextAttack = 0;
    for (var tick = 0; tick < parse.GetValue(secondsOption) * 10 && !ct.IsCancellationRequested; tick++)
    {
        var now = start.AddMilliseconds(tick * 100);
        var batch = scenario.NormalTick(now).ToList();
        if (attacksAfter is { } after && tick >= after * 10 && (tick - (after * 10)) % (every * 10) == 0)
        {
            batch.AddRange(scenario.Attack(DemoScenario.AttackNames[nextAttack++ % DemoScenario.AttackNames.Length], now));
        }

        foreach (var (_, value) in batch)
        {
            await stdout.WriteAsync(value, ct).ConfigureAwait(false);
            stdout.WriteByte((byte)'\n');
        }
    }

    return 0;
});

var modelsDirOption = new Option<string>("--models") { Description = "Model folder (models/<workload>/<version>/).", DefaultValueFactory = _ => "models" };
var inputFiles = new Argument<string[]>("files") { Description = "Event files: JSON lines (any sensor format) or recordings.", Arity = ArgumentArity.ZeroOrMore };
var kafkaTopicOption = new Option<string?>("--kafka-topic") { Description = "Read a Kafka topic range instead of files." };
var fromOffsetOption = new Option<long>("--from-offset") { Description = "First offset of every partition to read.", DefaultValueFactory = _ => 0 };
var toOffsetOption = new Option<long?>("--to-offset") { Description = "Last offset to read (default: the end when reading starts)." };
var windowOption = new Option<double?>("--window") { Description = "Behaviour window length in seconds (default: Detection:Models:Window, 10)." };
var targetOption = new Option<double?>("--target-alerts-per-day") { Description = "Alert budget per workload per day the thresholds are calibrated to (default 1)." };
var promoteOption = new Option<bool>("--promote") { Description = "Promote each trained version right away." };
var labelOption = new Option<string>("--label") { Description = "Event label that marks attack events, as key=prefix.", DefaultValueFactory = _ => "scenario=attack" };
EventInput Input(ParseResult parse) => new(
    parse.GetValue(inputFiles) ?? [], parse.GetValue(fromOption)!, parse.GetValue(kafkaTopicOption), parse.GetValue(bootstrapOption), parse.GetValue(fromOffsetOption), parse.GetValue(toOffsetOption));
DetectionOptions CliDetection(ParseResult parse)
{
    var o = new DetectionOptions();
    if (parse.GetValue(configOption) is { } config)
    {
        new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(config)).Build().GetSection(DetectionOptions.SectionName).Bind(o);
    }

    if (parse.GetValue(windowOption) is { } w)
    {
        o.Models.Window = TimeSpan.FromSeconds(w);
    }

    if (parse.GetValue(targetOption) is { } t)
    {
        o.TargetAlertsPerWorkloadDay = t;
    }

    return o;
}

var train = new Command("train", "Train per-workload models from recorded events (files or a Kafka topic range) and save them as new versions.")
{
    inputFiles, fromOption, kafkaTopicOption, bootstrapOption, fromOffsetOption, toOffsetOption, modelsDirOption, windowOption, targetOption, promoteOption, configOption, jsonOption,
};
train.SetAction((parse, ct) => ModelCommands.TrainAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), parse.GetValue(promoteOption), parse.GetValue(jsonOption), Console.Out, Console.Error, ct));
var score = new Command("score", "Score recorded events with the promoted models and print every finding.")
{
    inputFiles, fromOption, kafkaTopicOption, bootstrapOption, fromOffsetOption, toOffsetOption, modelsDirOption, configOption, jsonOption,
};
score.SetAction((parse, ct) => ModelCommands.ScoreAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), parse.GetValue(jsonOption), Console.Out, Console.Error, ct));
var evaluateEvents = new Command("events", "Window-level detection quality of the promoted models on labelled events (ROC AUC, DR at 1/5/10% FPR, FPR at 90% DR, confusion).")
{
    inputFiles, fromOption, kafkaTopicOption, bootstrapOption, fromOffsetOption, toOffsetOption, modelsDirOption, labelOption, configOption, jsonOption,
};
evaluateEvents.SetAction((parse, ct) =>
{
    var label = parse.GetValue(labelOption)!.Split('=', 2);
    return ModelCommands.EvaluateAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), label[0], label.Length > 1 ? label[1] : "", parse.GetValue(jsonOption), Console.Out, Console.Error, ct);
});
var labelsOption = new Option<string>("--labels") { Description = "The stream's labels (labels.json: scenarios with kind, workload, start, end).", Required = true };
var assertOption = new Option<bool>("--assert") { Description = "Exit 1 unless every attack that does something new is caught, at least two thirds of the stealthy ones, at most 3 false incidents in all after learning, and no high or critical incident was held by a budget." };
var streamFiles = new Argument<string[]>("files") { Description = "Recorded sensor streams (JSON lines, any format), each in time order.", Arity = ArgumentArity.OneOrMore };
var incidentsOption = new Option<string?>("--incidents") { Description = "Also write every incident emission (schema sentinel.alert/v2) to this JSON-lines file." };
var evaluateStream = new Command("stream", "Run the real pipeline over recorded sensor streams on the event clock and judge incidents against labels: attacks caught, false incidents, budgets.")
{
    streamFiles, labelsOption, configOption, jsonOption, assertOption, incidentsOption,
};
evaluateStream.SetAction(async (parse, ct) =>
{
    var labels = StreamEvaluation.ReadLabels(parse.GetValue(labelsOption)!, out _, out var attacksStart);
    var report = await StreamEvaluation.RunAsync(parse.GetValue(streamFiles)!, labels, CliDetection(parse), attacksStart, Console.Error, ct, parse.GetValue(incidentsOption)).ConfigureAwait(false);
    Console.WriteLine(parse.GetValue(jsonOption) ? StreamEvaluation.Json(report) : StreamEvaluation.Text(report));
    var newOnes = report.Attacks.Where(a => a.Kind == "attack-new").ToList();
    var stealthy = report.Attacks.Where(a => a.Kind == "attack-stealthy").ToList();
    var ok = newOnes.All(a => a.Caught) && 3 * stealthy.Count(a => a.Caught) >= 2 * stealthy.Count && report.FalseIncidents.Count <= 3 && report.HeldHighOrCritical == 0;
    if (parse.GetValue(assertOption) && !ok)
    {
        await Console.Error.WriteLineAsync($"evaluate stream: floors not met: caught {newOnes.Count(a => a.Caught)}/{newOnes.Count} new attacks, {stealthy.Count(a => a.Caught)}/{stealthy.Count} stealthy (≥ two thirds); false incidents {report.FalseIncidents.Count} ({report.FalseOutsideChurn} outside churn, {report.FalseOnChurn} on it; ≤ 3 in all); high or critical held {report.HeldHighOrCritical}").ConfigureAwait(false);
        return 1;
    }

    return 0;
});
var evaluate = new Command("evaluate", "Measure detection quality on labelled data.")
{
    adfa, evaluateEvents, evaluateStream,
};

var corpusOut = new Option<string>("--out") { Description = "Folder for tetragon.jsonl, hubble.jsonl, falco.jsonl and labels.json.", Required = true };
var corpusStart = new Option<DateTimeOffset>("--start") { Description = "Event time the stream starts at.", DefaultValueFactory = _ => new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero) };
var corpus = new Command("corpus", "Write the realistic labelled shop corpus (Tetragon, Hubble and Falco exports of a 3-node cluster: 60 min of normal traffic with churn, then 30 min with 13 attacks).")
{
    corpusOut, seedOption, corpusStart,
};
corpus.SetAction(async (parse, ct) =>
{
    var (records, labels) = await RuntimeSentinel.Daemon.Corpus.ShopCorpus.WriteAsync(parse.GetValue(corpusOut)!, parse.GetValue(seedOption), parse.GetValue(corpusStart), ct).ConfigureAwait(false);
    Console.WriteLine($"wrote {records} records and {labels.Count} labelled scenarios to {parse.GetValue(corpusOut)}");
    Console.Write(RuntimeSentinel.Daemon.Corpus.ShopCorpus.Describe(labels));
    return 0;
});

var workloadArgument = new Argument<string>("workload") { Description = "Workload key (cluster/namespace/kind/name/container) or its folder name." };
var versionArgument = new Argument<string>("version") { Description = "Version folder name, e.g. v3." };
var optionalVersion = new Argument<string?>("version") { Description = "Version (default: the promoted one).", Arity = ArgumentArity.ZeroOrOne };
var modelsList = new Command("list", "List stored model versions; * marks the promoted one.") { modelsDirOption, jsonOption };
modelsList.SetAction((parse, _) => ModelCommands.ListAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(jsonOption), Console.Out));
var modelsShow = new Command("show", "Show a model card: training data, thresholds, held-back figures.") { workloadArgument, optionalVersion, modelsDirOption, jsonOption };
modelsShow.SetAction((parse, _) => ModelCommands.ShowAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(optionalVersion), parse.GetValue(jsonOption), Console.Out, Console.Error));
var modelsPromote = new Command("promote", "Mark a version as the one in service (checked loadable first); running daemons hot-swap it.") { workloadArgument, versionArgument, modelsDirOption };
modelsPromote.SetAction((parse, _) => ModelCommands.PromoteAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(versionArgument)!, Console.Out, Console.Error));
var models = new Command("models", "Manage stored model versions.") { modelsList, modelsShow, modelsPromote };

var analystOption = new Option<string>("--analyst") { Description = "Your name: the file name of your key in the daemon's Kafka:FeedbackKeysDirectory.", Required = true };
var keyFileOption = new Option<string>("--key-file") { Description = "File holding your verdict key (the same content as the daemon's copy).", Required = true };
var feedbackTopicOption = new Option<string>("--topic") { Description = "Feedback topic.", DefaultValueFactory = _ => "sentinel.feedback" };
var feedbackBootstrapOption = new Option<string>("--bootstrap-servers") { Description = "Kafka brokers.", Required = true };
var verdictFileArgument = new Argument<string?>("verdict") { Description = "Verdict JSON file (docs/alerts.md, Feedback); '-' or none reads standard input.", Arity = ArgumentArity.ZeroOrOne };
var feedbackSend = new Command("send", "Sign a verdict with your analyst key and publish it to the feedback topic.") { feedbackBootstrapOption, feedbackTopicOption, analystOption, keyFileOption, verdictFileArgument };
feedbackSend.SetAction((parse, ct) => FeedbackCommand.SendAsync(parse.GetValue(feedbackBootstrapOption)!, parse.GetValue(feedbackTopicOption)!, parse.GetValue(analystOption)!, parse.GetValue(keyFileOption)!, parse.GetValue(verdictFileArgument), Console.Out, Console.Error, ct));
var feedbackCommand = new Command("feedback", "Analysts' verdicts on alerts.") { feedbackSend };

var root = new RootCommand("RuntimeSentinel: learns each container workload's runtime behaviour from Kafka and alerts on what departs from it.")
{
    run, demo, demoEvents, convert, replay, train, score, evaluate, models, feedbackCommand, corpus,
};
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);

static DateTimeOffset? TryExploitTime(string zip)
{
    try
    {
        return RuntimeSentinel.Lab.Recordings.LidDsRecording.Open(zip).ExploitTime;
    }
    catch (InvalidDataException)
    {
        return null; // not a LID-DS recording (e.g. the ADFA-LD archive)
    }
}

static Dictionary<string, string?> CommonOverrides(string? alertsFile, string? listen, string? adminListen = null)
{
    var o = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
    if (adminListen is not null)
    {
        o["Http:AdminListen"] = adminListen;
    }

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
    if (SentinelHost.AdminAddress(app) is { } admin)
    {
        await Console.Error.WriteLineAsync($"RuntimeSentinel admin /workloads on {admin}").ConfigureAwait(false);
    }

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
    var faulted = app.Services.GetRequiredService<RuntimeSentinel.Core.Health.HealthRegistry>().Faulted.ToList();
    foreach (var stage in faulted)
    {
        await Console.Error.WriteLineAsync($"stage {stage.Name} stopped on an error: {stage.Reason}").ConfigureAwait(false);
    }

    var code = health.Faulted || faulted.Count > 0 ? 1 : summary?.Invoke() ?? 0;
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
    Console.WriteLine($"incidents: {tally.Incidents} ({tally.Alerts} alerts folded into them)");
    foreach (var (category, n) in tally.ByCategory)
    {
        Console.WriteLine($"  {category,-20} {n}");
    }

    Console.WriteLine("attacks:");
    var scenarios = tally.ByScenario;
    var missed = 0;
    foreach (var attack in DemoScenario.AttackNames)
    {
        var injected = generator.AttacksInjected.Contains(attack);
        var found = scenarios.GetValueOrDefault("attack:" + attack);
        var stealthy = DemoScenario.StealthyAttacks.Contains(attack) ? " (stealthy: only a rate or volume changes)" : "";
        missed += injected && found.Incidents == 0 ? 1 : 0;
        Console.WriteLine($"  {attack,-24} {(injected ? "injected" : "not injected"),-13} {(found.Incidents > 0 ? $"DETECTED ({found.Incidents} incident, {found.Alerts} alerts)" : injected ? "MISSED" : "-")}{stealthy}");
    }

    Console.WriteLine($"benign churn after learning: {string.Join(", ", generator.ChurnDone)}");
    Console.WriteLine($"alerts on normal behaviour after learning: {tally.NormalAfterLearning}");

    // The demo is a check, not a show: a missed attack fails it.
    return missed == 0 ? 0 : 1;
}
