using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Recordings;
using Spectre.Console;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>A labelled scenario read from a corpus's <c>labels.json</c>.</summary>
internal sealed record StreamLabel(string Scenario, string Kind, string Workload, DateTimeOffset Start, DateTimeOffset End, string Description)
{
    public bool IsAttack => Kind.StartsWith("attack", StringComparison.Ordinal);

    /// <summary>Other workloads the scenario acts on (<c>related_workloads</c>): an incident there answers it too.</summary>
    public IReadOnlyList<string> Related { get; init; } = [];

    public bool Concerns(string workload) => workload == Workload || Related.Contains(workload);
}

internal sealed record AttackResult(string Scenario, string Kind, string Workload, bool Caught, double? SecondsToFirstIncident, int Incidents, string? FirstIncident);

internal sealed record FalseIncident(DateTimeOffset FirstSeen, string Workload, string Severity, string Category, long Count, string Summary, string When, string? Churn);

internal sealed record StreamReport(
    long Decoded,
    long Ignored,
    long Rejected,
    IReadOnlyDictionary<string, long> RecordsBySource,
    int Workloads,
    DateTimeOffset Start,
    DateTimeOffset LearningEnds,
    DateTimeOffset AttacksStart,
    DateTimeOffset End,
    IReadOnlyList<AttackResult> Attacks,
    IReadOnlyList<FalseIncident> FalseIncidents,
    int IncidentsTotal,
    IReadOnlyList<long> HeldBySeverity,
    double Seconds)
{
    public int FalseBeforeAttacks => FalseIncidents.Count(f => f.When == "before_attacks");

    public int FalseDuringAttacks => FalseIncidents.Count(f => f.When == "during_attacks");

    public int FalseOnChurn => FalseIncidents.Count(f => f.Churn is not null);

    public int FalseOutsideChurn => FalseIncidents.Count(f => f.Churn is null);

    public double FalsePerWorkloadHour => Workloads == 0 ? 0 : FalseIncidents.Count / (Workloads * Math.Max(1e-9, (End - LearningEnds).TotalHours));

    public long HeldHighOrCritical => HeldBySeverity[(int)Severity.High] + HeldBySeverity[(int)Severity.Critical];
}

/// <summary>
/// <c>sentinel evaluate stream</c>: runs the real pipeline (sensor decoders, peer identities, sharded baselines and
/// models, incident correlation and budgets) over recorded sensor streams on the event clock, then judges what an
/// analyst would have seen against the labels: per attack caught or missed and how fast, false incidents after
/// learning (before the attacks, during them, on labelled benign churn), and incidents held back by budgets.
/// </summary>
internal static class StreamEvaluation
{
    /// <summary>An incident belongs to a scenario when its workload matches and it overlaps the scenario's window (plus grace).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);

    public static List<StreamLabel> ReadLabels(string path, out DateTimeOffset? start, out DateTimeOffset? attacksStart)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        DateTimeOffset? T(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? DateTimeOffset.Parse(v.GetString()!, CultureInfo.InvariantCulture) : null;
        start = T(root, "start");
        attacksStart = T(root, "attacks_start");
        return root.GetProperty("scenarios").EnumerateArray().Select(s => new StreamLabel(
            s.GetProperty("scenario").GetString()!, s.GetProperty("kind").GetString()!, s.GetProperty("workload").GetString()!,
            T(s, "start")!.Value, T(s, "end")!.Value, s.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "")
        {
            Related = s.TryGetProperty("related_workloads", out var r) && r.ValueKind == JsonValueKind.Array ? r.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [],
        }).ToList();
    }

    /// <param name="capture">When given (for <c>--report</c>), the run keeps its alerts, events and trained models there.</param>
    /// <param name="modelsDir">A model folder: its promoted versions go in service as a daemon's watcher would put them (each when its workload appears).</param>
    public static async Task<StreamReport> RunAsync(IReadOnlyList<string> files, IReadOnlyList<StreamLabel> labels, DetectionOptions detection, DateTimeOffset? attacksStartHint, TextWriter log, CancellationToken ct, string? incidentsFile = null, StreamCapture? capture = null, IncidentSchema incidentsSchema = IncidentSchema.Sentinel, string? modelsDir = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        detection.Clock = "event";
        var alerting = new AlertingOptions { Clock = "event", Console = false, QueueCapacity = 2_000_000, SpillDirectory = Path.Combine(Path.GetTempPath(), "sentinel-evaluate-" + Environment.ProcessId) };
        var incidents = new IncidentHistory();
        var alertingMetrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var dispatcher = new AlertDispatcher([], [incidents], Microsoft.Extensions.Options.Options.Create(alerting), alertingMetrics, TimeProvider.System, NullLogger<AlertDispatcher>.Instance);
        capture?.Prepare(detection);
        var pipeline = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(detection), capture?.Tap(dispatcher) ?? dispatcher, new DetectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), TimeProvider.System, NullLogger<DetectionPipeline>.Instance);
        await dispatcher.StartAsync(ct).ConfigureAwait(false);
        pipeline.Start();
        if (modelsDir is not null)
        {
            foreach (var (_, version, path) in new Detection.Models.ModelStore(modelsDir).Promoted())
            {
                try
                {
                    var model = Detection.Models.WorkloadModel.Load(path);
                    var result = await pipeline.SwapModelAsync(model).ConfigureAwait(false);
                    await log.WriteLineAsync($"model {model.Card.Workload} {version}: {result.ToString().ToLowerInvariant()} ({string.Join(", ", model.Card.Thresholds.Keys)})").ConfigureAwait(false);
                }
                catch (Detection.Models.ModelRejectedException ex)
                {
                    await log.WriteLineAsync($"model {path} refused: {ex.Message}").ConfigureAwait(false);
                }
            }
        }

        // The ingest service's path into detection (batches per shard, clock marks), so that replay and evaluation agree.
        var tally = new RecordingTally(detection);
        var writer = pipeline.CreateWriter();
        var bar = ProgressBar.Create("evaluating", EventSources.CountRecords(files) ?? 0);
        long read = 0;
        foreach (var r in EventSources.ReadMerged(files, "auto"))
        {
            ct.ThrowIfCancellationRequested();
            if (++read % 1024 == 0)
            {
                bar.Report(read);
            }

            if (tally.Observe(r) is { } item)
            {
                capture?.Events.Add(item.Event);
                await writer.WriteAsync(item, ct).ConfigureAwait(false);
            }
            else if (r.Status == DecodeStatus.Rejected && tally.Rejected <= 5)
            {
                await log.WriteLineAsync($"{r.Source}:{r.Line}: rejected: {r.Error}").ConfigureAwait(false);
            }
        }

        bar.Done($"{read} records");
        await writer.FlushAsync(ct).ConfigureAwait(false);
        await pipeline.CompleteAsync().ConfigureAwait(false);
        await dispatcher.StopAsync(ct).ConfigureAwait(false);
        if (incidentsFile is not null)
        {
            // Every emission, as the JSON sinks would have rendered it, for reading what was raised.
            await File.WriteAllLinesAsync(incidentsFile, incidents.Lines(incidentsSchema), ct).ConfigureAwait(false);
        }

        return Judge(incidents, tally, labels, detection, attacksStartHint, dispatcher.Budget.HeldBySeverity.ToArray(), clock.Elapsed.TotalSeconds);
    }

    /// <summary>The report on a recording, whichever command read it: the same counts, the same rules of attribution.</summary>
    public static StreamReport Judge(IncidentHistory incidents, RecordingTally tally, IReadOnlyList<StreamLabel> labels, DetectionOptions detection, DateTimeOffset? attacksStartHint, IReadOnlyList<long> held, double seconds)
    {
        var learningEnds = tally.First + detection.LearningDuration;
        var attacksStart = attacksStartHint ?? labels.Where(l => l.IsAttack).Select(l => l.Start).DefaultIfEmpty(tally.Last).Min();
        return Judge(incidents.All, incidents.History, labels, tally.Workloads, tally.First, learningEnds, attacksStart, tally.Last, tally.Decoded, tally.Ignored, tally.Rejected, tally.BySource, held, seconds);
    }

    /// <summary>Scores incidents against labels (public for tests: the rules of attribution are the report's meaning).</summary>
    public static StreamReport Judge(IReadOnlyList<Incident> all, IReadOnlyDictionary<string, List<Incident>> history, IReadOnlyList<StreamLabel> labels, int workloads, DateTimeOffset start, DateTimeOffset learningEnds, DateTimeOffset attacksStart, DateTimeOffset end,
        long decoded, long ignored, long rejected, IReadOnlyDictionary<string, long> bySource, IReadOnlyList<long> held, double seconds)
    {
        var detections = all.Where(i => i.Kind == "detection").ToList();

        // What an analyst saw of an incident: each emission brought the alerts that arrived since the previous one.
        // The incident answers a scenario when one of those spans of new alerts falls in the scenario's window.
        var spans = detections.ToDictionary(i => i.Id, i => Spans(history.TryGetValue(i.Id, out var h) ? h : [i]));
        bool Overlaps(Incident i, StreamLabel l) =>
            l.Concerns(i.Workload.ShortName) && spans[i.Id].Any(x => x.From <= l.End + Grace && x.To >= l.Start - TimeSpan.FromSeconds(5));

        var attacks = labels.Where(l => l.IsAttack).Select(l =>
        {
            // The first incident an analyst saw for the attack: the earliest emission span that overlaps its window.
            // Its summary is what that emission showed (an incident's headline can change with later alerts).
            var mine = detections.Where(i => Overlaps(i, l))
                .Select(i => spans[i.Id].Where(x => x.From <= l.End + Grace && x.To >= l.Start - TimeSpan.FromSeconds(5)).MinBy(x => x.From))
                .OrderBy(x => x.From).ToList();
            double? latency = mine.Count == 0 ? null : Math.Max(0, (mine[0].From - l.Start).TotalSeconds);
            return new AttackResult(l.Scenario, l.Kind, l.Workload, mine.Count > 0, latency, mine.Count, mine.Count == 0 ? null : mine[0].Summary);
        }).ToList();

        // An incident whose first emission answers no attack paged an analyst for nothing, whatever joined it later.
        bool FirstAnswers(Incident i, StreamLabel l) =>
            l.Concerns(i.Workload.ShortName) && spans[i.Id].Take(1).Any(x => x.From <= l.End + Grace && x.To >= l.Start - TimeSpan.FromSeconds(5));
        var attackLabels = labels.Where(l => l.IsAttack).ToList();
        var churn = labels.Where(l => !l.IsAttack).ToList();
        var falses = detections
            .Where(i => i.FirstSeen >= learningEnds && !attackLabels.Any(l => FirstAnswers(i, l)))
            .Select(i =>
            {
                var onChurn = churn.FirstOrDefault(l => l.Workload == i.Workload.ShortName && i.FirstSeen >= l.Start && i.FirstSeen <= l.End + TimeSpan.FromMinutes(10));
                return new FalseIncident(i.FirstSeen, i.Workload.ShortName, i.Severity.ToWire(), i.Category, i.Count, i.Note ?? i.Primary.Summary, i.FirstSeen < attacksStart ? "before_attacks" : "during_attacks", onChurn?.Scenario);
            })
            .OrderBy(f => f.FirstSeen)
            .ToList();
        return new StreamReport(decoded, ignored, rejected, bySource, workloads, start, learningEnds, attacksStart, end, attacks, falses, detections.Count, held, seconds);
    }

    /// <summary>The span of alert time each emission of an incident added (from its first new alert to its last), and its headline then.</summary>
    private static List<(DateTimeOffset From, DateTimeOffset To, string Summary)> Spans(List<Incident> emissions)
    {
        var result = new List<(DateTimeOffset, DateTimeOffset, string)>();
        long count = 0;
        foreach (var e in emissions.OrderBy(e => e.Version))
        {
            if (e.Count > count)
            {
                result.Add((count == 0 ? e.FirstSeen : e.PendingSince, e.LastSeen, e.Primary.Summary));
            }

            count = e.Count;
        }

        return result;
    }

    public static string Text(StreamReport r) => CliTables.Render(console =>
    {
        var inv = CultureInfo.InvariantCulture;
        console.WriteLine(string.Create(inv, $"records: {r.Decoded} decoded, {r.Ignored} ignored, {r.Rejected} rejected ({string.Join(", ", r.RecordsBySource.Select(kv => $"{kv.Key} {kv.Value}"))}); {r.Workloads} workloads; {r.Seconds:0.0} s"));
        console.WriteLine(string.Create(inv, $"stream {r.Start:HH:mm:ss}-{r.End:HH:mm:ss}; learning ends {r.LearningEnds:HH:mm:ss}; attacks from {r.AttacksStart:HH:mm:ss}"));
        var attacks = CliTables.Create("attack", "kind", "caught", "after", "first incident");
        foreach (var a in r.Attacks)
        {
            attacks.Row(a.Scenario, a.Kind, a.Caught ? "yes" : "MISSED", a.SecondsToFirstIncident is { } s ? string.Create(inv, $"{s:0.0} s") : "", Trim(a.FirstIncident, 90));
        }

        console.Write(attacks);
        var newOnes = r.Attacks.Where(a => a.Kind == "attack-new").ToList();
        var stealthy = r.Attacks.Where(a => a.Kind == "attack-stealthy").ToList();
        console.WriteLine(string.Create(inv, $"caught: {newOnes.Count(a => a.Caught)}/{newOnes.Count} that do something new, {stealthy.Count(a => a.Caught)}/{stealthy.Count} stealthy"));
        console.WriteLine(string.Create(inv, $"false incidents after learning: {r.FalseIncidents.Count} ({r.FalseBeforeAttacks} before the attacks, {r.FalseDuringAttacks} during; {r.FalseOnChurn} on labelled benign churn, {r.FalseOutsideChurn} outside it); {r.FalsePerWorkloadHour:0.000} per workload-hour"));
        if (r.FalseIncidents.Count > 0)
        {
            var falses = CliTables.Create("first seen", "severity", "workload", "churn", "summary");
            foreach (var f in r.FalseIncidents)
            {
                falses.Row(f.FirstSeen.ToString("HH:mm:ss", inv), f.Severity, f.Workload, f.Churn ?? "", Trim(f.Summary, 110));
            }

            console.Write(falses);
        }

        console.WriteLine(string.Create(inv, $"incidents held by budgets: {r.HeldBySeverity.Sum()} (high or critical: {r.HeldHighOrCritical})"));

        static string Trim(string? s, int n) => s is null ? "" : s.Length <= n ? s : s[..n] + "…";
    });

    public static string Json(StreamReport r) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["records"] = new { decoded = r.Decoded, ignored = r.Ignored, rejected = r.Rejected, by_source = r.RecordsBySource },
        ["workloads"] = r.Workloads,
        ["start"] = r.Start,
        ["learning_ends"] = r.LearningEnds,
        ["attacks_start"] = r.AttacksStart,
        ["end"] = r.End,
        ["attacks"] = r.Attacks.Select(a => new { scenario = a.Scenario, kind = a.Kind, workload = a.Workload, caught = a.Caught, seconds_to_first_incident = a.SecondsToFirstIncident, incidents = a.Incidents, first_incident = a.FirstIncident }),
        ["caught_new"] = r.Attacks.Count(a => a.Kind == "attack-new" && a.Caught),
        ["attacks_new"] = r.Attacks.Count(a => a.Kind == "attack-new"),
        ["caught_stealthy"] = r.Attacks.Count(a => a.Kind == "attack-stealthy" && a.Caught),
        ["attacks_stealthy"] = r.Attacks.Count(a => a.Kind == "attack-stealthy"),
        ["false_incidents"] = new
        {
            total = r.FalseIncidents.Count,
            before_attacks = r.FalseBeforeAttacks,
            during_attacks = r.FalseDuringAttacks,
            on_benign_churn = r.FalseOnChurn,
            outside_churn = r.FalseOutsideChurn,
            per_workload_hour = Math.Round(r.FalsePerWorkloadHour, 4),
            incidents = r.FalseIncidents.Select(f => new { first_seen = f.FirstSeen, workload = f.Workload, severity = f.Severity, category = f.Category, count = f.Count, summary = f.Summary, when = f.When, churn = f.Churn }),
        },
        ["incidents_total"] = r.IncidentsTotal,
        ["held_by_budget"] = new { total = r.HeldBySeverity.Sum(), high_or_critical = r.HeldHighOrCritical },
        ["seconds"] = Math.Round(r.Seconds, 1),
    });
}
