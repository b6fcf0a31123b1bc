using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.Lab.Evaluation;
using RuntimeSentinel.Lab.Recordings;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>Where <c>train</c>, <c>score</c> and <c>evaluate events</c> read events from.</summary>
internal sealed record EventInput(string[] Files, string Format, string? KafkaTopic, string? Bootstrap, long FromOffset, long? ToOffset);

/// <summary>
/// The data scientist's verbs: <c>train</c>, <c>score</c>, <c>evaluate events</c> and <c>models list|show|promote</c>.
/// They run the same code as the daemon (<see cref="OfflineModels"/>), on the event clock, so a model trained here
/// behaves as one trained live, and its card records where its data came from.
/// </summary>
internal static class ModelCommands
{
    private static readonly JsonSerializerOptions Json = new(ModelCard.Json) { WriteIndented = false };

    public static async Task<int> TrainAsync(EventInput input, string modelsDir, DetectionOptions options, bool promote, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var events = await ReadAsync(input, stderr, ct).ConfigureAwait(false);
        if (events is null)
        {
            return 2;
        }

        var offline = new OfflineModels(options);
        var bar = ProgressBar.Create("learning", events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            offline.Learn(events[i]);
            if (i % 5000 == 0)
            {
                bar.Report(i);
            }
        }

        bar.Done($"{events.Count} events, {offline.Workloads.Count()} workloads");
        var store = new ModelStore(modelsDir);
        var source = input.KafkaTopic is { } topic ? $"kafka:{topic}[{input.FromOffset}..{input.ToOffset?.ToString(CultureInfo.InvariantCulture) ?? "end"}]" : string.Join(",", input.Files.Select(Path.GetFileName));
        var training = ProgressBar.Create("training", offline.Workloads.Count());
        var trained = offline.Train(key => store.NextVersion(key.Value), source, (done, _, workload) => training.Report(done, workload));
        training.Done();
        var results = new List<object>();
        foreach (var (key, model) in trained)
        {
            if (model is null)
            {
                await stderr.WriteLineAsync($"{key.Value}: too little data to train (need {options.Models.MinWindows} windows of {options.Models.Window.TotalSeconds:0.###} s, or syscalls)").ConfigureAwait(false);
                results.Add(new { workload = key.Value, trained = false });
                continue;
            }

            var path = store.Save(model);
            if (promote)
            {
                store.Promote(key.Value, model.Card.Version);
            }

            results.Add(new { workload = key.Value, trained = true, version = model.Card.Version, path, promoted = promote, thresholds = model.Card.Thresholds, windows = model.Card.Training.Windows, syscalls = model.Card.Training.Syscalls });
            if (!json)
            {
                await stdout.WriteLineAsync($"{key.Value}: {model.Card.Version}{(promote ? " (promoted)" : "")} → {path}").ConfigureAwait(false);
                foreach (var (detector, t) in model.Card.Thresholds)
                {
                    var e = model.Card.Evaluation[detector];
                    await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {detector,-22} threshold {t,10:0.####}  held-back median {e.Median:0.####} max {e.Max:0.####} over {e.Scores} scores; expected {e.ExpectedAlertsPerDay:0.###} alerts/day")).ConfigureAwait(false);
                }
            }
        }

        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new { events = events.Count, models = results }, Json)).ConfigureAwait(false);
        }

        return trained.Any(t => t.Model is not null) ? 0 : 1;
    }

    public static async Task<int> ScoreAsync(EventInput input, string modelsDir, DetectionOptions options, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var models = LoadPromoted(modelsDir, stderr);
        var events = await ReadAsync(input, stderr, ct).ConfigureAwait(false);
        if (events is null || models is null)
        {
            return 2;
        }

        // Every window over a threshold, as the models see it: confirmation by a second window in a row is the daemon's
        // alerting policy, not part of a window's score (evaluate events, the window-level figures, ignores it too).
        options.Models.ConfirmWindows = 1;
        var bar = ProgressBar.Create("scoring", events.Count);
        var findings = OfflineModels.Score(options, models, events, n => bar.Report(n));
        bar.Done($"{findings.Count} findings");
        foreach (var f in findings)
        {
            var line = json
                ? JsonSerializer.Serialize(new
                {
                    workload = f.Workload,
                    time = f.Time,
                    detector = f.Finding.Detector,
                    category = f.Finding.Category,
                    severity = f.Finding.Severity.ToString().ToLowerInvariant(),
                    score = f.Finding.Score,
                    threshold = f.Finding.Threshold,
                    combined_score = f.Finding.Combined,
                    detectors = f.Finding.Detectors.Select(d => new { detector = d.Detector, score = d.Score, threshold = d.Threshold }),
                    top_features = f.Finding.TopFeatures.Select(c => new { feature = c.Feature, observed = c.Observed, baseline = c.Baseline, share = c.Share }),
                    reason = f.Finding.Reason,
                    model = models[f.Workload].Card.Version,
                }, Json)
                : string.Create(CultureInfo.InvariantCulture, $"{f.Time:O} {f.Workload} {f.Finding.Category} {f.Finding.Detector} {f.Finding.Score:0.###}>{f.Finding.Threshold:0.###}: {f.Finding.Reason}");
            await stdout.WriteLineAsync(line).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>
    /// Window-level evaluation on labelled events: a window is positive when any of its events carries the label
    /// (e.g. <c>scenario=attack:*</c>); its score is the largest score/threshold ratio of any detector.
    /// </summary>
    public static async Task<int> EvaluateAsync(EventInput input, string modelsDir, DetectionOptions options, string labelKey, string positivePrefix, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct, string? reportDir = null)
    {
        var models = LoadPromoted(modelsDir, stderr);
        var events = await ReadAsync(input, stderr, ct).ConfigureAwait(false);
        if (events is null || models is null)
        {
            return 2;
        }

        // The report's alerts are the windows over a threshold, as `score` lists them: confirmation by the next window is
        // the daemon's alerting policy, and it changes no window's score (the figures are the same either way).
        options.Models.ConfirmWindows = 1;
        var findings = new List<OfflineFinding>();
        var windows = OfflineModels.ScoreWindows(options, models, events, e => e.Labels[labelKey] is { } v && v.StartsWith(positivePrefix, StringComparison.Ordinal), findings);
        var negatives = windows.Where(w => !w.Positive).Select(w => w.Ratio).ToList();
        var positives = windows.Where(w => w.Positive).Select(w => w.Ratio).ToList();
        if (negatives.Count == 0 || positives.Count == 0)
        {
            await stderr.WriteLineAsync($"evaluate: need windows of both kinds; {positives.Count} labelled {labelKey}={positivePrefix}*, {negatives.Count} not").ConfigureAwait(false);
            return 1;
        }

        var q = new DetectionQuality(negatives, positives);
        var result = q.Summary();
        result["unit"] = "behaviour window per workload; score = largest score/threshold over detectors";
        result["confusion_at_calibrated_threshold"] = q.ConfusionMap(1.0);
        await stdout.WriteLineAsync(json ? JsonSerializer.Serialize(result, Json) : string.Join(Environment.NewLine, result.Select(kv => $"{kv.Key,-34} {(kv.Value is Dictionary<string, int> d ? string.Join(" ", d.Select(x => $"{x.Key}={x.Value}")) : Convert.ToString(kv.Value, CultureInfo.InvariantCulture))}"))).ConfigureAwait(false);
        var label = $"{labelKey}={positivePrefix}*";
        return reportDir is null || await WriteReportAsync(reportDir, () => EvaluationReports.WriteEvents(reportDir, input.Files, label, windows, findings, result, events), stderr).ConfigureAwait(false) ? 0 : 2;
    }

    /// <summary>Writes a report, saying where (or why not: a folder that cannot be written is the user's to fix).</summary>
    internal static async Task<bool> WriteReportAsync(string dir, Func<IReadOnlyList<string>> write, TextWriter stderr)
    {
        try
        {
            var files = write();
            await stderr.WriteLineAsync($"report: {files[0]} ({files.Count - 1} images)").ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"cannot write the report to {dir}: {ex.Message}").ConfigureAwait(false);
            return false;
        }
    }

    /// <param name="adminUrls">Daemons' admin listeners to ask for the drift of the versions they serve (<see cref="ServedDrift"/>); none: no drift column.</param>
    public static async Task<int> ListAsync(string modelsDir, bool json, TextWriter stdout, IReadOnlyList<string>? adminUrls = null, TextWriter? stderr = null, CancellationToken ct = default)
    {
        var all = new ModelStore(modelsDir).List();
        var (drift, failed) = adminUrls is { Count: > 0 } ? await ServedDrift.FetchAsync(adminUrls, stderr ?? TextWriter.Null, ct).ConfigureAwait(false) : ([], 0);
        DriftView? Drift(StoredModel m) => drift.GetValueOrDefault((m.Workload, m.Version));
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(all.Select(m => new { workload = m.Workload, version = m.Version, promoted = m.Promoted, created_at = m.Card?.CreatedAt, problem = m.Problem, thresholds = m.Card?.Thresholds, drift = Drift(m) is { } d ? new { daemon = d.Daemon, psi = d.Psi, unknown = d.Unknown, retrain_suggested = d.RetrainSuggested, top_features = d.TopFeatures, evaluated_at = d.EvaluatedAt } : null }), Json)).ConfigureAwait(false);
            return failed > 0 ? 1 : 0;
        }

        if (all.Count == 0)
        {
            await stdout.WriteLineAsync($"no models under {modelsDir}").ConfigureAwait(false);
            return failed > 0 ? 1 : 0;
        }

        // The drift column only when daemons were asked: "-" for a version none of them serves.
        var asked = adminUrls is { Count: > 0 };
        var table = asked ? CliTables.Create("", "workload", "version", "created", "drift", "problem") : CliTables.Create("", "workload", "version", "created", "problem");
        foreach (var m in all)
        {
            var created = m.Card?.CreatedAt.ToString("u", CultureInfo.InvariantCulture) ?? "";
            if (asked)
            {
                table.Row(m.Promoted ? "*" : "", m.Workload, m.Version, created, Drift(m)?.Column ?? "-", m.Problem ?? "");
            }
            else
            {
                table.Row(m.Promoted ? "*" : "", m.Workload, m.Version, created, m.Problem ?? "");
            }
        }

        await stdout.WriteLineAsync(CliTables.Render(console => console.Write(table))).ConfigureAwait(false);
        return failed > 0 ? 1 : 0;
    }

    public static async Task<int> ShowAsync(string modelsDir, string workload, string? version, bool json, TextWriter stdout, TextWriter stderr)
    {
        var store = new ModelStore(modelsDir);
        var candidates = store.List().Where(m => m.Workload == workload || ModelStore.Slug(m.Workload) == ModelStore.Slug(workload)).ToList();
        var m = version is null ? candidates.FirstOrDefault(c => c.Promoted) ?? candidates.LastOrDefault() : candidates.FirstOrDefault(c => c.Version == version);
        if (m?.Card is null)
        {
            await stderr.WriteLineAsync(m?.Problem ?? $"no model {workload} {version} under {modelsDir}").ConfigureAwait(false);
            return 1;
        }

        if (json)
        {
            await stdout.WriteLineAsync(File.ReadAllText(Path.Combine(m.Path, WorkloadModel.CardFile))).ConfigureAwait(false);
            return 0;
        }

        var c = m.Card;
        await stdout.WriteLineAsync($"{c.Workload} {c.Version}{(m.Promoted ? " (promoted)" : "")}  {m.Path}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"  created {c.CreatedAt:u} by {c.CodeVersion}; fingerprint {c.Fingerprint}{(m.Problem is null ? "" : " — " + m.Problem)}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"  trained on {c.Training.Source}: {c.Training.Events} events {c.Training.From:u} → {c.Training.To:u}, {c.Training.Windows} windows of {c.WindowSeconds:0.###} s, {c.Training.Syscalls} syscalls in {c.Training.Processes} processes{(c.Training.DataSha256 is { } sha ? $"; data sha256 {sha}" : "")}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"  target {c.TargetAlertsPerDay} alerts per workload per day; PCA rank {c.PcaRank}; sequence order {c.SequenceOrder}, window {c.SequenceWindow}, per-executable models: {string.Join(", ", c.SequenceExecutables)}").ConfigureAwait(false);
        foreach (var (detector, e) in c.Evaluation)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {detector,-22} threshold {e.Threshold,10:0.####}  held-back: {e.Scores} scores, median {e.Median:0.####}, p99 {e.P99:0.####}, max {e.Max:0.####}, {e.Exceeding} above → {e.ExpectedAlertsPerDay:0.###} alerts/day")).ConfigureAwait(false);
        }

        if (m.Problem is null)
        {
            // What it will reserve from Detection:Models:MemoryBudgetMiB on every node that serves the workload.
            var model = WorkloadModel.Load(m.Path);
            var bytes = model.EstimatedBytes + ModelRuntime.LiveBaseBytes;
            var sequences = model.Sequences?.EstimatedBytes ?? 0;
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  in service: about {bytes / 1024.0:0} KiB of the model memory budget ({sequences / 1024.0:0} KiB of it sequence tables), plus {SequenceStreams.StreamBytes(c.SequenceOrder, c.SequenceWindow)} bytes per process it scores")).ConfigureAwait(false);
        }

        return 0;
    }

    public static async Task<int> PromoteAsync(string modelsDir, string workload, string version, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var model = new ModelStore(modelsDir).Promote(workload, version);
            await stdout.WriteLineAsync($"{model.Card.Workload} {version} promoted; a running daemon watching {modelsDir} puts it in service within Detection:Models:ReloadInterval").ConfigureAwait(false);
            return 0;
        }
        catch (ModelRejectedException ex)
        {
            await stderr.WriteLineAsync("promote refused: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static Dictionary<string, WorkloadModel>? LoadPromoted(string modelsDir, TextWriter stderr)
    {
        var models = new Dictionary<string, WorkloadModel>(StringComparer.Ordinal);
        foreach (var (_, version, path) in new ModelStore(modelsDir).Promoted())
        {
            try
            {
                var m = WorkloadModel.Load(path);
                models[m.Card.Workload] = m;
            }
            catch (ModelRejectedException ex)
            {
                stderr.WriteLine($"skipping {path} ({version}): {ex.Message}");
            }
        }

        if (models.Count == 0)
        {
            stderr.WriteLine($"no promoted, loadable models under {modelsDir} (train, then `sentinel models promote`)");
            return null;
        }

        return models;
    }

    /// <summary>Events from files or a Kafka topic range, in time order (stable, so per-workload order is kept).</summary>
    internal static async Task<List<RuntimeEvent>?> ReadAsync(EventInput input, TextWriter stderr, CancellationToken ct)
    {
        if (!EventFormats.IsKnown(input.Format))
        {
            await stderr.WriteLineAsync($"unknown format '{input.Format}'; one of {string.Join(", ", EventFormats.Names)}").ConfigureAwait(false);
            return null;
        }

        var events = new List<RuntimeEvent>();
        long rejected = 0;
        if (input.KafkaTopic is { } topic)
        {
            if (input.Bootstrap is null or KafkaOptions.Embedded)
            {
                await stderr.WriteLineAsync("--kafka-topic needs --bootstrap-servers (or Kafka:BootstrapServers in --config) naming a real cluster").ConfigureAwait(false);
                return null;
            }

            rejected = ReadKafka(input, topic, events, stderr, ct);
        }
        else
        {
            var missing = input.Files.Where(f => !File.Exists(f)).ToList();
            if (input.Files.Length == 0 || missing.Count > 0)
            {
                await stderr.WriteLineAsync(input.Files.Length == 0 ? "no input: give event files or --kafka-topic" : "no such file: " + string.Join(", ", missing)).ConfigureAwait(false);
                return null;
            }

            foreach (var file in input.Files)
            {
                foreach (var r in EventSources.Read(file, input.Format))
                {
                    if (r.Status == DecodeStatus.Event)
                    {
                        events.Add(r.Event);
                    }
                    else if (r.Status == DecodeStatus.Rejected)
                    {
                        rejected++;
                    }
                }
            }
        }

        if (rejected > 0)
        {
            await stderr.WriteLineAsync($"{rejected} records rejected (malformed or unknown; `sentinel convert` lists them)").ConfigureAwait(false);
        }

        return [.. events.OrderBy(e => e.Timestamp)];
    }

    private static long ReadKafka(EventInput input, string topic, List<RuntimeEvent> events, TextWriter stderr, CancellationToken ct)
    {
        var format = EventFormats.Create(input.Format);
        long rejected = 0;
        ProgressBar? bar = null;
        var read = TopicRange.Read(input.Bootstrap!, topic, input.FromOffset, input.ToOffset, stderr, value =>
        {
            switch (format.Decode(value, out var e, out _, out _))
            {
                case DecodeStatus.Event:
                    events.Add(e);
                    break;
                case DecodeStatus.Rejected:
                    rejected++;
                    break;
            }
        }, (done, total) => (bar ??= ProgressBar.Create("reading " + topic, total)).Report(done), ct);
        (bar ?? ProgressBar.Create("reading " + topic, read)).Done($"{read} messages");
        return rejected;
    }
}
