using System.Collections.Concurrent;
using System.Globalization;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Evaluation;
using RuntimeSentinel.Lab.Reports;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// What <c>evaluate stream --report</c> needs from the run besides incidents: every alert the detectors published
/// (detector and time, for alerts per hour per detector), the events (to rescore windows), and the models the run
/// trained, kept in a temporary model folder (<c>Detection:Models:SaveTrained</c>) and deleted with this object.
/// </summary>
internal sealed class StreamCapture : IDisposable
{
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("sentinel-evaluate-models-").FullName;

    public List<RuntimeEvent> Events { get; } = [];

    /// <summary>Published by the shards' threads, read after the run.</summary>
    public ConcurrentQueue<(DateTimeOffset Time, string Detector)> Alerts { get; } = new();

    /// <summary>Sets the run up to keep what the report needs.</summary>
    public void Prepare(DetectionOptions detection)
    {
        detection.Models.Directory = ModelsDir;
        detection.Models.SaveTrained = true;
    }

    /// <summary>The dispatcher as detection sees it, with every alert noted on the way.</summary>
    public IAlertPublisher Tap(IAlertPublisher inner) => new AlertTap(inner, Alerts);

    public void Dispose()
    {
        try
        {
            Directory.Delete(ModelsDir, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is not worth failing the evaluation for.
        }
    }

    private sealed class AlertTap(IAlertPublisher inner, ConcurrentQueue<(DateTimeOffset, string)> alerts) : IAlertPublisher
    {
        public void Publish(Alert alert)
        {
            alerts.Enqueue((alert.Time, alert.Detector));
            inner.Publish(alert);
        }

        public Task FlushAsync(TimeSpan timeout) => inner.FlushAsync(timeout);

        public void AdvanceClock(int source, DateTimeOffset eventTime) => inner.AdvanceClock(source, eventTime);
    }
}

/// <summary>The HTML reports of <c>evaluate events --report</c> and <c>evaluate stream --report</c>.</summary>
internal static class EvaluationReports
{
    /// <summary>Detectors drawn one line each in the alerts plot; the rest are summed as "other".</summary>
    private const int PlottedDetectors = 8;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<string> WriteEvents(string dir, IReadOnlyList<string> files, string label, IReadOnlyList<LabelledWindow> windows, IReadOnlyList<OfflineFinding> findings, Dictionary<string, object> summary, IReadOnlyList<RuntimeEvent> events)
    {
        var report = new EvaluationReport
        {
            Title = "Evaluation of the promoted models on labelled events",
            Facts =
            [
                ("input", string.Join(", ", files.Select(Path.GetFileName))),
                ("attack label", label),
                ("workloads with a model", windows.Select(w => w.Workload).Distinct(StringComparer.Ordinal).Count().ToString(Inv)),
            ],
            Tables = [new ReportTable("Window-level figures", ["figure", "value"], summary.Select(kv => (IReadOnlyList<string>)[kv.Key, Cell(kv.Value)]).ToList())],
            Scores = [new ScoreSeries("promoted models", windows.Select(w => new ScoredSample(w.Ratio, w.Positive)).ToList())],
            Alerts = ByDetector(findings.Select(f => (f.Time, f.Finding.Detector))),
            AlertsBy = "detector",
            From = events.Count == 0 ? default : events[0].Timestamp,
            To = events.Count == 0 ? default : events[^1].Timestamp,
            Notes =
            [
                "A window is an attack window when any of its events carries the attack label; its score is the largest score/threshold ratio of the workload's detectors (1 = calibrated threshold).",
                "Alerts are the windows over a threshold in the same replay, as `sentinel score` lists them (the daemon's confirmation by a second window is not applied); item-novelty alerts are not part of this evaluation.",
            ],
        };
        return HtmlReportWriter.Write(report, dir);
    }

    public static IReadOnlyList<string> WriteStream(string dir, IReadOnlyList<string> files, StreamReport r, IReadOnlyList<StreamLabel> labels, StreamCapture capture, DetectionOptions detection)
    {
        var windows = RescoreTrained(capture, detection, labels);
        var report = new EvaluationReport
        {
            Title = "Stream evaluation against labels",
            Facts =
            [
                ("input", string.Join(", ", files.Select(Path.GetFileName))),
                ("records", $"{r.Decoded} decoded, {r.Ignored} ignored, {r.Rejected} rejected; {r.Workloads} workloads"),
                ("time span", $"{r.Start:u} → {r.End:u}; learning ends {r.LearningEnds:u}; attacks from {r.AttacksStart:u}"),
                ("caught", $"{r.Attacks.Count(a => a.Kind == "attack-new" && a.Caught)}/{r.Attacks.Count(a => a.Kind == "attack-new")} that do something new, {r.Attacks.Count(a => a.Kind == "attack-stealthy" && a.Caught)}/{r.Attacks.Count(a => a.Kind == "attack-stealthy")} stealthy"),
                ("false incidents after learning", $"{r.FalseIncidents.Count} ({r.FalseOnChurn} on labelled churn)"),
            ],
            Tables =
            [
                new ReportTable("Attacks", ["attack", "kind", "workload", "caught", "seconds to first incident", "first incident"],
                    r.Attacks.Select(a => (IReadOnlyList<string>)[a.Scenario, a.Kind, a.Workload, a.Caught ? "yes" : "MISSED", a.SecondsToFirstIncident is { } s ? s.ToString("0.0", Inv) : "", a.FirstIncident ?? ""]).ToList()),
                new ReportTable("False incidents after learning", ["first seen (UTC)", "workload", "severity", "category", "churn", "summary"],
                    r.FalseIncidents.Select(f => (IReadOnlyList<string>)[f.FirstSeen.ToString("HH:mm:ss", Inv), f.Workload, f.Severity, f.Category, f.Churn ?? "", f.Summary]).ToList()),
            ],
            Scores = [new ScoreSeries("models trained in the run", windows)],
            Alerts = ByDetector(capture.Alerts),
            AlertsBy = "detector",
            From = r.Start,
            To = r.End,
            Notes =
            [
                "Window scores: each model the run trained (kept with Detection:Models:SaveTrained) rescored over the events after its training, as `models backtest` replays a version: the largest score/threshold ratio of its detectors per window, at the threshold as calibrated (a recalibration at the end of shadow is not applied). A window is an attack window when it overlaps a labelled attack of its workload.",
                "Alerts per hour: every alert the detectors published, item novelty and catalogue included, before incident grouping and budgets.",
            ],
        };
        return HtmlReportWriter.Write(report, dir);
    }

    /// <summary>
    /// Every window of every model the run trained, each version scoring its workload's events from the end of its
    /// training to the end of the next version's (a workload that relearned has several), labelled by the labels file.
    /// </summary>
    private static List<ScoredSample> RescoreTrained(StreamCapture capture, DetectionOptions detection, IReadOnlyList<StreamLabel> labels)
    {
        var lanes = new ModelLanes(detection);
        foreach (var workload in new ModelStore(capture.ModelsDir).List().Where(m => m.Problem is null && m.Card is not null).GroupBy(m => m.Workload, StringComparer.Ordinal))
        {
            var versions = workload.OrderBy(v => v.Card!.Training.To).ToList();
            for (var i = 0; i < versions.Count; i++)
            {
                DateTimeOffset? until = i + 1 < versions.Count ? versions[i + 1].Card!.Training.To : null;
                lanes.Add(versions[i].Version + "@" + workload.Key, WorkloadModel.Load(versions[i].Path), versions[i].Card!.Training.To, until);
            }
        }

        var ordered = capture.Events.OrderBy(e => e.Timestamp).ToList();
        return lanes.Run(ordered).Windows
            .Select(w => new ScoredSample(w.Ratio, BacktestJudge.IsAttackWindow(labels, WorkloadKey.TryParse(w.Workload, out var k) ? k.ShortName : w.Workload, w.Start, w.End)))
            .ToList();
    }

    /// <summary>Alert times per detector, the most frequent first, the tail summed as "other".</summary>
    private static List<AlertSeries> ByDetector(IEnumerable<(DateTimeOffset Time, string Detector)> alerts)
    {
        var groups = alerts.GroupBy(a => a.Detector, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var result = groups.Take(PlottedDetectors).Select(g => new AlertSeries(g.Key, g.Select(a => a.Time).ToList())).ToList();
        if (groups.Count > PlottedDetectors)
        {
            result.Add(new AlertSeries("other", groups.Skip(PlottedDetectors).SelectMany(g => g.Select(a => a.Time)).ToList()));
        }

        // No alert is a result too: a flat line says so, a missing plot would not.
        return result.Count > 0 ? result : [new AlertSeries("no alerts", [])];
    }

    private static string Cell(object value) => value switch
    {
        Dictionary<string, int> d => string.Join(" ", d.Select(x => $"{x.Key}={x.Value}")),
        IFormattable f => f.ToString(null, Inv),
        _ => value.ToString() ?? "",
    };
}
