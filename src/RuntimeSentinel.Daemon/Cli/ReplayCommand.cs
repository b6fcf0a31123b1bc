using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>What a replay published.</summary>
internal sealed record ReplayReport(long Published, long Ignored, long Rejected, DateTimeOffset? FirstEvent, DateTimeOffset? LastEvent, IReadOnlyDictionary<string, long> ByScenario);

/// <summary>
/// <c>sentinel replay</c>: publishes recorded events (JSON lines in any supported format, LID-DS recordings, the ADFA-LD
/// archive) into a Kafka topic as native events, keyed by workload so each workload's events stay ordered, either
/// as fast as possible or at a multiple of the recorded pace (<c>--speed 10x</c>).
/// </summary>
internal static class ReplayCommand
{
    public static bool TryParseSpeed(string? text, out double speed)
    {
        speed = 0; // 0 = as fast as possible
        if (string.IsNullOrEmpty(text) || text is "max" or "0")
        {
            return true;
        }

        var t = text.EndsWith('x') ? text[..^1] : text;
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out speed) && speed > 0;
    }

    /// <summary>
    /// How far (message bytes, uncompressed) a replay into the embedded cluster may run ahead of its consumer. The mock
    /// cluster keeps at most 5 MiB per partition and silently drops older data, so a producer that outruns the consumer
    /// by more loses messages (the consumer's position falls off the log and is reset). 3 MiB uncompressed stays under
    /// that even if compression gained nothing.
    /// </summary>
    public const long EmbeddedMaxAheadBytes = 3L * 1024 * 1024;

    /// <param name="read">Messages the consumer has read so far, when it runs in this process: publishing then waits
    /// while more than <paramref name="maxAheadBytes"/> are published and not read.</param>
    /// <param name="expected">About how many records there are, for the progress bar (0: not known).</param>
    public static async Task<ReplayReport> PublishAsync(RecordProducer producer, string topic, IEnumerable<SourceRecord> records, double speed, bool raw, TextWriter log, CancellationToken ct, RecordingTally? tally = null, Func<long>? read = null, long maxAheadBytes = EmbeddedMaxAheadBytes, long expected = 0)
    {
        var bar = ProgressBar.Create("replaying", expected);
        long seen = 0;
        var ahead = read is null ? null : new PublishWindow(read, maxAheadBytes);
        long published = 0, ignored = 0, rejected = 0;
        DateTimeOffset? first = null, last = null;
        var byScenario = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var keys = new Dictionary<WorkloadRef, byte[]>();
        var clock = Stopwatch.StartNew();
        var pace = new EventWatermark(TimeSpan.FromMinutes(5));
        foreach (var r in records)
        {
            ct.ThrowIfCancellationRequested();
            if (++seen % 1024 == 0)
            {
                bar.Report(seen);
            }

            tally?.Observe(r);
            if (r.Status == DecodeStatus.Ignored)
            {
                ignored++;
                continue;
            }

            if (r.Status == DecodeStatus.Rejected)
            {
                rejected++;
                await log.WriteLineAsync($"{r.Source}:{r.Line}: rejected: {r.Error}");
                continue;
            }

            var e = r.Event;
            first ??= e.Timestamp;
            last = e.Timestamp;
            pace.Observe(e.Timestamp, e.Labels[EventLabels.Inventory] is not null, out _);
            if (speed > 0)
            {
                // Keep the recorded pacing, compressed by the speed factor, on the stream's own clock: an inventory
                // of days-old processes, or a gap of hours, is not slept through.
                var due = TimeSpan.FromTicks((long)(pace.Advanced.Ticks / speed));
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, ct);
                }
            }

            if (!keys.TryGetValue(e.Workload, out var key))
            {
                key = Encoding.UTF8.GetBytes(WorkloadResolver.Compute(e.Workload, "replay").Value);
                keys[e.Workload] = key;
            }

            var value = raw && r.Raw is not null ? r.Raw : EventJsonWriter.ToUtf8(e);
            if (ahead is not null)
            {
                await ahead.WaitForRoomAsync(value.Length, ct).ConfigureAwait(false);
            }

            producer.Produce(topic, key, value); // waits while the local queue is full: backpressure, not loss

            published++;
            var scenario = e.Labels["scenario"] ?? "unlabelled";
            byScenario[scenario] = byScenario.GetValueOrDefault(scenario) + 1;
        }

        bar.Done($"{published} published");
        producer.Flush(ct);
        return new ReplayReport(published, ignored, rejected, first, last, byScenario);
    }

    /// <summary>What the daemon reported about a replay: alerts before and after the recorded attack begins.</summary>
    public static string Summarize(ReplayReport replay, IReadOnlyList<Alert> alerts, DateTimeOffset? exploitTime, bool json)
    {
        var attackAlerts = alerts.Where(a => a.Evidence.Count > 0 && (a.Evidence[0].Labels["scenario"] ?? "").StartsWith("attack:", StringComparison.Ordinal)).ToList();
        var normalAlerts = alerts.Where(a => a.Evidence.Count > 0 && a.Evidence[0].Labels["scenario"] == "normal").ToList();
        var firstAttackAlert = attackAlerts.MinBy(a => a.Evidence[0].Timestamp);
        double? delay = exploitTime is { } x && firstAttackAlert is not null ? (firstAttackAlert.Evidence[0].Timestamp - x).TotalSeconds : null;
        var byCategoryBefore = normalAlerts.GroupBy(a => a.Category).ToDictionary(g => g.Key, g => g.Count());
        var byCategoryAfter = attackAlerts.GroupBy(a => a.Category).ToDictionary(g => g.Key, g => g.Count());
        if (json)
        {
            return JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["published"] = replay.Published,
                ["ignored"] = replay.Ignored,
                ["rejected"] = replay.Rejected,
                ["events_by_scenario"] = replay.ByScenario,
                ["exploit_time"] = exploitTime?.ToString("O", CultureInfo.InvariantCulture),
                ["alerts"] = alerts.Count,
                ["alerts_on_normal"] = normalAlerts.Count,
                ["alerts_on_attack"] = attackAlerts.Count,
                ["alerts_on_normal_by_category"] = byCategoryBefore,
                ["alerts_on_attack_by_category"] = byCategoryAfter,
                ["detection_delay_seconds"] = delay,
            });
        }

        var sb = new StringBuilder();
        sb.AppendLine("=== replay summary ===");
        sb.AppendLine(CultureInfo.InvariantCulture, $"published {replay.Published} events ({string.Join(", ", replay.ByScenario.Select(kv => $"{kv.Key}: {kv.Value}"))}); ignored {replay.Ignored}; rejected {replay.Rejected}");
        if (exploitTime is { } t)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"exploit starts at {t:O}");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"alerts: {alerts.Count}; on events before the attack (normal): {normalAlerts.Count} {Fmt(byCategoryBefore)}; on attack events: {attackAlerts.Count} {Fmt(byCategoryAfter)}");
        sb.AppendLine(delay is { } d ? $"first alert on the attack: {d:0.000} s after the exploit time" : "no alert on the attack");
        return sb.ToString();

        static string Fmt(Dictionary<string, int> d) => d.Count == 0 ? "" : "(" + string.Join(", ", d.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")) + ")";
    }

    /// <summary>sentinel replay: recorded events into Kafka (and, embedded, through the daemon).</summary>
    public static Command Create(CliOptions cli)
    {
        var replayFiles = new Argument<string[]>("files") { Description = "JSON-lines files (any format), LID-DS recordings (.zip) or the ADFA-LD archive (.zip).", Arity = ArgumentArity.OneOrMore };
        var replayTopic = new Option<string>("--topic") { Description = "Topic to publish to.", DefaultValueFactory = _ => "sentinel.events" };
        var speedOption = new Option<string>("--speed") { Description = "'max' (as fast as possible) or a multiple of the recorded pace, e.g. 10x.", DefaultValueFactory = _ => "max" };
        var rawOption = new Option<bool>("--raw") { Description = "Publish JSON lines as they are instead of converted to native events." };
        var replayLearning = new Option<double?>("--learning") { Description = "Embedded daemon: seconds of event time each workload learns (and at least 100 events); default: Detection:LearningDuration and MinLearningEvents." };
        var replayIncidents = new Option<string?>("--incidents") { Description = "Embedded daemon: also write every incident emission to this JSON-lines file (schema: --incidents-schema), as 'evaluate stream --incidents'." };
        var replayLabels = new Option<string?>("--labels") { Description = "Embedded daemon: judge the incidents against these labels (labels.json), exactly as 'evaluate stream' does." };
        var replayBootstrap = new Option<string>("--bootstrap-servers") { Description = "Kafka to publish to; 'embedded' (default) also runs the daemon in this process and reports what it detected.", DefaultValueFactory = _ => KafkaOptions.Embedded };
        var replay = new Command("replay", "Publish recorded events into Kafka, preserving per-workload order and (optionally) pacing.")
        {
            replayFiles, cli.From, replayTopic, speedOption, rawOption, cli.Json, replayLearning, replayLabels, replayIncidents, cli.IncidentsSchema, replayBootstrap, cli.AlertsFile, cli.Listen, cli.Config,
        };
        replay.SetAction(async (parse, ct) =>
        {
            var files = parse.GetValue(replayFiles) ?? [];
            var format = parse.GetValue(cli.From)!;
            var topic = parse.GetValue(replayTopic)!;
            var json = parse.GetValue(cli.Json);
            if (!ReplayCommand.TryParseSpeed(parse.GetValue(speedOption), out var speed) || !EventFormats.IsKnown(format) || files.Any(f => !File.Exists(f)))
            {
                await Console.Error.WriteLineAsync("replay: check --speed (max or e.g. 10x), --from and that every file exists").ConfigureAwait(false);
                return 2;
            }

            // Merged in event-time order, as 'evaluate stream' reads them: a Hubble file after a Tetragon file is not an
            // hour of late DNS records.
            var records = EventSources.ReadMerged(files, format);
            var exploit = files.Where(f => f.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)).Select(TryExploitTime).FirstOrDefault(t => t is not null);
            var bootstrap = parse.GetValue(replayBootstrap)!;
            if (!string.Equals(bootstrap, KafkaOptions.Embedded, StringComparison.OrdinalIgnoreCase))
            {
                using var producer = RecordProducer.Connect(bootstrap);
                var report = await ReplayCommand.PublishAsync(producer, topic, records, speed, parse.GetValue(rawOption), Console.Error, ct, expected: EventSources.CountRecords(files) ?? 0).ConfigureAwait(false);
                Console.WriteLine(ReplayCommand.Summarize(report, [], exploit, json));
                return report.Rejected == 0 ? 0 : 1;
            }

            // Embedded: run the daemon here, reading the recording as 'evaluate stream' does (HostProfile.Replay).
            var profile = HostProfile.Replay(topic, parse.GetValue(replayLearning), json) with
            {
                AlertsFile = parse.GetValue(cli.AlertsFile),
                Listen = parse.GetValue(cli.Listen) ?? "127.0.0.1:0",
                AdminListen = "",
            };
            var history = new IncidentHistory();
            // On a terminal the live progress bar has the screen: the daemon's log lines would tear through it, so only
            // errors are shown there (redirect standard error to keep every line, as CI does).
            var app = SentinelHost.Build(parse.GetValue(cli.Config), profile, (services, _) => services.AddSingleton<IIncidentObserver>(history), configure: Terminal.ErrorIsInteractive
                ? c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error" })
                : null);
            var failures = SentinelHost.ValidateAll(app.Services);
            if (failures.Count > 0)
            {
                failures.ForEach(f => Console.Error.WriteLine("  - " + f));
                return 2;
            }

            List<StreamLabel>? labels = null;
            DateTimeOffset? attacksStart = null;
            if (parse.GetValue(replayLabels) is { } labelsFile)
            {
                labels = StreamEvaluation.ReadLabels(labelsFile, out _, out attacksStart);
            }

            var clock = Stopwatch.StartNew();
            await app.StartAsync(CancellationToken.None).ConfigureAwait(false);
            var detection = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RuntimeSentinel.Detection.DetectionOptions>>().Value;
            var tally = new RecordingTally(detection);
            var ingest = app.Services.GetRequiredService<KafkaIngestService>();
            var published = await ReplayCommand.PublishAsync(app.Services.GetRequiredService<KafkaProducer>().Records, topic, records, speed, parse.GetValue(rawOption), Console.Error, ct, tally, () => ingest.MessagesRead, expected: EventSources.CountRecords(files) ?? 0).ConfigureAwait(false);

            // Stopping drains: ingestion hands over everything it has read, detection finishes, and open incidents are
            // emitted. So first wait until the consumer has read every published message; give up only when it stops
            // making progress for a minute (a broken cluster), or when the client reports skipped messages.
            var lastRead = -1L;
            var progress = Stopwatch.StartNew();
            while (ingest.MessagesRead < published.Published && ingest.OffsetResets == 0 && progress.Elapsed < TimeSpan.FromMinutes(1) && !ct.IsCancellationRequested)
            {
                if (ingest.MessagesRead != lastRead)
                {
                    lastRead = ingest.MessagesRead;
                    progress.Restart();
                }

                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
            }

            var unread = published.Published - ingest.MessagesRead;
            if (unread > 0 || ingest.OffsetResets > 0)
            {
                // A replay that lost part of its input must not report figures as if it had read it all.
                await Console.Error.WriteLineAsync($"replay: the daemon read {ingest.MessagesRead} of {published.Published} published messages ({ingest.OffsetResets} offset resets); its figures would not describe the recording").ConfigureAwait(false);
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            var held = app.Services.GetRequiredService<RuntimeSentinel.Alerting.AlertDispatcher>().Budget.HeldBySeverity.ToArray();
            if (parse.GetValue(replayIncidents) is { } incidentsFile)
            {
                await File.WriteAllLinesAsync(incidentsFile, history.Lines(cli.ParseIncidentsSchema(parse)), ct).ConfigureAwait(false);
            }

            if (labels is not null)
            {
                var report = StreamEvaluation.Judge(history, tally, labels, detection, attacksStart, held, clock.Elapsed.TotalSeconds);
                Console.WriteLine(json ? StreamEvaluation.Json(report) : StreamEvaluation.Text(report));
            }
            else
            {
                Console.WriteLine(ReplayCommand.Summarize(published, history.All.SelectMany(i => i.Samples).DistinctBy(a => a.Id).ToList(), exploit, json));
            }

            await app.DisposeAsync().ConfigureAwait(false);
            return published.Rejected == 0 && unread <= 0 && ingest.OffsetResets == 0 ? 0 : 1;
        });
        return replay;
    }

    private static DateTimeOffset? TryExploitTime(string zip)
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
}
