using System.CommandLine;
using System.Text.Json;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>What a backtest replayed and what each version did with it.</summary>
internal sealed record BacktestResult(
    string Workload,
    string ShortName,
    IReadOnlyList<string> Files,
    string? LabelsFile,
    long Events,
    long WorkloadEvents,
    DateTimeOffset From,
    DateTimeOffset To,
    BacktestSide Candidate,
    BacktestSide Against,
    IReadOnlyList<string> Notes);

/// <summary>
/// <c>sentinel models backtest WORKLOAD --candidate V [--against promoted|V] FILE...</c>: replays recorded traffic
/// through two versions of a workload's model side by side (<see cref="ModelLanes"/>: the same events, the same event
/// clock, each version's detectors with its own calibrated thresholds and known items) and reports, per version, the
/// alerts it would have raised and, with a labels file, the workload's attacks caught and missed, false alerts and the
/// time to the first alert (<see cref="BacktestJudge"/>).
/// </summary>
internal static class BacktestCommand
{
    public static Command Create(CliOptions cli, Option<string> modelsDir, Argument<string> workload)
    {
        var candidate = new Option<string>("--candidate") { Description = "The version to try (a version folder name, e.g. v3).", Required = true };
        var against = new Option<string>("--against") { Description = "The version to compare with: 'promoted' (the one in service) or a version folder name.", DefaultValueFactory = _ => "promoted" };
        var files = new Argument<string[]>("files") { Description = "Recorded events: JSON lines (any sensor format) or recordings.", Arity = ArgumentArity.OneOrMore };
        var labels = new Option<string?>("--labels") { Description = "Labels file (a corpus's labels.json): attacks of this workload caught or missed, false alerts, window labels for the report." };
        var report = new Option<string?>("--report") { Description = "Write an HTML report with plots to this folder (index.html)." };
        var command = new Command("backtest", "Replay recorded traffic through a candidate version and the promoted (or another) one side by side: alerts, attacks caught and missed, false alerts.")
        {
            workload, candidate, against, files, labels, report, cli.From, modelsDir, cli.Config, cli.Json,
        };
        command.SetAction((parse, ct) =>
        {
            var options = new DetectionOptions();
            if (parse.GetValue(cli.Config) is { } config)
            {
                new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(config)).Build().GetSection(DetectionOptions.SectionName).Bind(options);
            }

            var request = new BacktestRequest(parse.GetValue(modelsDir)!, parse.GetValue(workload)!, parse.GetValue(candidate)!, parse.GetValue(against)!, parse.GetValue(files)!, parse.GetValue(cli.From)!, parse.GetValue(labels), parse.GetValue(report));
            return RunAsync(request, options, parse.GetValue(cli.Json), Console.Out, Console.Error, ct);
        });
        return command;
    }

    internal sealed record BacktestRequest(string ModelsDir, string Workload, string Candidate, string Against, string[] Files, string Format, string? Labels, string? Report);

    public static async Task<int> RunAsync(BacktestRequest request, DetectionOptions options, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var (result, error) = await BacktestAsync(request, options, stderr, ct).ConfigureAwait(false);
        if (result is null)
        {
            await stderr.WriteLineAsync("models backtest: " + error).ConfigureAwait(false);
            return 2;
        }

        await stdout.WriteLineAsync(json ? BacktestOutput.Json(result) : BacktestOutput.Text(result)).ConfigureAwait(false);
        if (request.Report is { } dir && !await ModelCommands.WriteReportAsync(dir, () => BacktestOutput.WriteReport(result, dir), stderr).ConfigureAwait(false))
        {
            return 2;
        }

        return 0;
    }

    /// <summary>The backtest, or why it cannot run (unknown workload or version, nothing promoted, unreadable input).</summary>
    internal static async Task<(BacktestResult? Result, string? Error)> BacktestAsync(BacktestRequest request, DetectionOptions options, TextWriter stderr, CancellationToken ct)
    {
        var store = new ModelStore(request.ModelsDir);
        var all = store.List();
        var versions = all.Where(m => m.Workload == request.Workload || ModelStore.Slug(m.Workload) == ModelStore.Slug(request.Workload)).ToList();
        if (versions.Count == 0)
        {
            // The labels' short name (namespace/kind/name) names the workload too, when only one workload has it.
            var byShort = all.Where(m => WorkloadKey.TryParse(m.Workload, out var k) && k.ShortName == request.Workload).GroupBy(m => m.Workload, StringComparer.Ordinal).ToList();
            versions = byShort.Count == 1 ? byShort[0].ToList() : versions;
        }

        if (versions.Count == 0)
        {
            var known = all.Select(m => m.Workload).Distinct(StringComparer.Ordinal).ToList();
            return (null, $"no model versions of workload '{request.Workload}' under {request.ModelsDir}" + (known.Count == 0 ? " (the folder holds none: train first)" : $"; workloads there: {string.Join(", ", known.Take(10))}{(known.Count > 10 ? ", ..." : "")}"));
        }

        var names = string.Join(", ", versions.Select(v => v.Version + (v.Promoted ? " (promoted)" : "")));
        var candidate = versions.FirstOrDefault(v => v.Version == request.Candidate);
        if (candidate is null)
        {
            return (null, $"workload {versions[0].Workload} has no version '{request.Candidate}' (versions: {names})");
        }

        StoredModel? against;
        if (request.Against == "promoted")
        {
            against = versions.FirstOrDefault(v => v.Promoted);
            if (against is null)
            {
                return (null, $"workload {versions[0].Workload} has no promoted version (versions: {names}); promote one with `sentinel models promote` or name one with --against VERSION");
            }
        }
        else
        {
            against = versions.FirstOrDefault(v => v.Version == request.Against);
            if (against is null)
            {
                return (null, $"workload {versions[0].Workload} has no version '{request.Against}' (versions: {names})");
            }
        }

        if (against.Version == candidate.Version)
        {
            return (null, $"--candidate and --against are both {candidate.Version}: nothing to compare");
        }

        var models = new List<WorkloadModel>();
        foreach (var v in new[] { candidate, against })
        {
            try
            {
                models.Add(WorkloadModel.Load(v.Path));
            }
            catch (ModelRejectedException ex)
            {
                return (null, $"version {v.Version} of {v.Workload} cannot be loaded: {ex.Message}");
            }
        }

        var workload = models[0].Card.Workload;
        var shortName = WorkloadKey.TryParse(workload, out var key) ? key.ShortName : workload;
        List<StreamLabel> labels = [];
        if (request.Labels is { } labelsFile)
        {
            try
            {
                labels = StreamEvaluation.ReadLabels(labelsFile, out _, out _);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidDataException or KeyNotFoundException or InvalidOperationException)
            {
                return (null, $"cannot read labels {labelsFile}: {ex.Message}");
            }
        }

        List<Core.Events.RuntimeEvent>? events;
        try
        {
            events = await ModelCommands.ReadAsync(new EventInput(request.Files, request.Format, null, null, 0, null), stderr, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read the input: {ex.Message}");
        }

        if (events is null)
        {
            return (null, "no input to replay (see above)");
        }

        var lanes = new ModelLanes(options);
        lanes.Add("candidate", models[0]);
        lanes.Add("against", models[1]);
        var bar = ProgressBar.Create("replaying", events.Count);
        var run = lanes.Run(events, n => bar.Report(n));
        bar.Done($"{events.Count} events, {run.Alerts.Count} alerts");
        var workloadEvents = run.Events["candidate"];
        if (workloadEvents == 0)
        {
            return (null, $"the input holds no events of {workload} (is it the right recording, or the right --config cluster name?)");
        }

        // The input's span of live time: inventory records (processes found running) are dated at their start, days back.
        var live = events.Where(e => e.Labels[Core.Events.EventLabels.Inventory] is null).Select(e => e.Timestamp).DefaultIfEmpty(events[0].Timestamp).ToList();
        var (from, to) = (live.Min(), live.Max());
        var sides = new[] { ("candidate", candidate), ("against", against) }
            .Select(x => BacktestJudge.Judge(x.Item1, x.Item2, run.Alerts.Where(a => a.Lane == x.Item1), run.Windows.Where(w => w.Lane == x.Item1), shortName, labels, from, to))
            .ToList();
        var notes = new List<string>();
        foreach (var m in models.Where(m => m.Card.Training.From <= to && m.Card.Training.To >= from))
        {
            // Scores on a version's own training data are optimistic: say so rather than let the comparison mislead.
            notes.Add($"{m.Card.Version} was trained on events of {m.Card.Training.From:u} – {m.Card.Training.To:u}, which overlaps the replayed input: its figures there are on data it learned from");
        }

        if (request.Labels is null)
        {
            notes.Add("no --labels: alerts only (attacks caught and missed, false alerts and the ROC need labels)");
        }
        else if (!labels.Any(l => l.IsAttack && l.Concerns(shortName)))
        {
            notes.Add($"the labels hold no attack of {shortName}: every alert counts as false");
        }

        return (new BacktestResult(workload, shortName, request.Files, request.Labels, events.Count, workloadEvents, from, to, sides[0], sides[1], notes), null);
    }
}
