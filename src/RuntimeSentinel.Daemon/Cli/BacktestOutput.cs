using System.Globalization;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.Lab.Reports;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>A backtest as a terminal table, as one JSON document, and as an HTML report with plots.</summary>
internal static class BacktestOutput
{
    /// <summary>Alerts listed per version in the text output and the report; the JSON output has them all.</summary>
    private const int ShownAlerts = 25;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Text(BacktestResult r)
    {
        var sb = new StringBuilder();
        var (c, a) = (r.Candidate, r.Against);
        var labelled = r.LabelsFile is not null;
        sb.AppendLine(Inv, $"backtest {r.Workload}: {r.WorkloadEvents} of {r.Events} events, {r.From:u} → {r.To:u}");
        sb.AppendLine();
        var rows = new List<(string, string, string)>
        {
            ("", Head(c), Head(a)),
            ("trained on", Trained(c), Trained(a)),
            ("windows scored", N(c.Windows.Count), N(a.Windows.Count)),
            ("alerts", N(c.Alerts.Count), N(a.Alerts.Count)),
        };
        if (labelled)
        {
            var inInput = c.Attacks.Count(x => x.InInput);
            rows.Add(("attacks caught", $"{c.Caught}/{inInput}", $"{a.Caught}/{inInput}"));
            rows.Add(("attacks missed", N(c.Missed), N(a.Missed)));
            rows.Add(("false alerts", $"{c.FalseAlerts} ({c.FalseOnChurn} on churn)", $"{a.FalseAlerts} ({a.FalseOnChurn} on churn)"));
            rows.Add(("window ROC AUC", Auc(c.WindowAuc), Auc(a.WindowAuc)));
        }

        foreach (var (k, x, y) in rows)
        {
            sb.AppendLine(Inv, $"  {k,-16} {x,-38} {y}");
        }

        if (labelled && c.Attacks.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(Inv, $"  {"attack",-36} {"kind",-16} {Head(c),-24} {Head(a)}");
            for (var i = 0; i < c.Attacks.Count; i++)
            {
                sb.AppendLine(Inv, $"  {c.Attacks[i].Scenario,-36} {c.Attacks[i].Kind,-16} {Outcome(c.Attacks[i]),-24} {Outcome(a.Attacks[i])}");
            }
        }

        foreach (var side in new[] { c, a })
        {
            sb.AppendLine();
            sb.AppendLine(Inv, $"  alerts of {Head(side)}{(side.Alerts.Count > ShownAlerts ? $" (first {ShownAlerts} of {side.Alerts.Count}; --json lists all)" : "")}:");
            foreach (var x in side.Alerts.Take(ShownAlerts))
            {
                sb.AppendLine(Inv, $"    {x.Time:HH:mm:ss} {x.Detector,-20} {x.Score,9:0.###} > {x.Threshold,-9:0.###} {(labelled ? Answer(x) : "")}");
            }
        }

        foreach (var note in r.Notes)
        {
            sb.AppendLine().Append("  note: ").Append(note);
        }

        return sb.ToString().TrimEnd();
    }

    public static string Json(BacktestResult r) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["workload"] = r.Workload,
        ["files"] = r.Files,
        ["labels"] = r.LabelsFile,
        ["events"] = r.Events,
        ["workload_events"] = r.WorkloadEvents,
        ["from"] = r.From,
        ["to"] = r.To,
        ["candidate"] = Side(r.Candidate, r.LabelsFile is not null),
        ["against"] = Side(r.Against, r.LabelsFile is not null),
        ["notes"] = r.Notes,
    });

    /// <summary>Writes DIR/index.html and its plots; returns the files written.</summary>
    public static IReadOnlyList<string> WriteReport(BacktestResult r, string dir)
    {
        var (c, a) = (r.Candidate, r.Against);
        var labelled = r.LabelsFile is not null;
        var summary = new List<IReadOnlyList<string>>
        {
            new[] { "trained on", Trained(c), Trained(a) },
            new[] { "windows scored", N(c.Windows.Count), N(a.Windows.Count) },
            new[] { "alerts", N(c.Alerts.Count), N(a.Alerts.Count) },
        };
        if (labelled)
        {
            summary.Add(["attacks caught", N(c.Caught), N(a.Caught)]);
            summary.Add(["attacks missed", N(c.Missed), N(a.Missed)]);
            summary.Add(["false alerts (on churn)", $"{c.FalseAlerts} ({c.FalseOnChurn})", $"{a.FalseAlerts} ({a.FalseOnChurn})"]);
            summary.Add(["window ROC AUC", Auc(c.WindowAuc), Auc(a.WindowAuc)]);
        }

        var tables = new List<ReportTable> { new("Per version", ["", Head(c), Head(a)], summary) };
        if (labelled)
        {
            tables.Add(new ReportTable("Attacks of the workload", ["attack", "kind", "start (UTC)", Head(c), Head(a)],
                c.Attacks.Select((x, i) => (IReadOnlyList<string>)[x.Scenario, x.Kind, x.Start.ToString("HH:mm:ss", Inv), Outcome(x), Outcome(a.Attacks[i])]).ToList()));
        }

        foreach (var side in new[] { c, a })
        {
            tables.Add(new ReportTable($"Alerts of {Head(side)}{(side.Alerts.Count > ShownAlerts ? $" (first {ShownAlerts} of {side.Alerts.Count})" : "")}", ["time (UTC)", "detector", "score", "threshold", "answers"],
                side.Alerts.Take(ShownAlerts).Select(x => (IReadOnlyList<string>)[x.Time.ToString("HH:mm:ss", Inv), x.Detector, x.Score.ToString("0.###", Inv), x.Threshold.ToString("0.###", Inv), labelled ? Answer(x) : ""]).ToList()));
        }

        var report = new EvaluationReport
        {
            Title = $"Backtest of {r.Workload}: {c.Version} against {a.Version}",
            Facts =
            [
                ("workload", r.Workload),
                ("input", string.Join(", ", r.Files.Select(Path.GetFileName))),
                ("events", $"{r.WorkloadEvents} of the workload, {r.Events} in all"),
                ("time span", $"{r.From:u} → {r.To:u}"),
                ("labels", r.LabelsFile is null ? "none" : Path.GetFileName(r.LabelsFile)),
            ],
            Tables = tables,
            Scores = labelled ? [new ScoreSeries(Head(c), c.Labelled), new ScoreSeries(Head(a), a.Labelled)] : [],
            Alerts = [new AlertSeries(Head(c), c.Alerts.Select(x => x.Time).ToList()), new AlertSeries(Head(a), a.Alerts.Select(x => x.Time).ToList())],
            AlertsBy = "version",
            From = r.From,
            To = r.To,
            Notes =
            [
                "Window score = the largest score/threshold ratio of the version's detectors in the window (1 = its calibrated threshold); a window is an attack window when it overlaps a labelled attack of the workload.",
                "Alerts are raised as the daemon raises model alerts: a window over a threshold, confirmed by the next one (Detection:Models:ConfirmWindows); item-novelty alerts are not part of a backtest.",
                .. r.Notes,
            ],
        };
        return HtmlReportWriter.Write(report, dir);
    }

    private static Dictionary<string, object?> Side(BacktestSide s, bool labelled) => new()
    {
        ["version"] = s.Version,
        ["promoted"] = s.Stored.Promoted,
        ["trained"] = s.Stored.Card is { } card ? new { source = card.Training.Source, from = card.Training.From, to = card.Training.To, windows = card.Training.Windows } : null,
        ["thresholds"] = s.Stored.Card?.Thresholds,
        ["windows_scored"] = s.Windows.Count,
        ["alerts"] = s.Alerts.Select(x => new { time = x.Time, detector = x.Detector, category = x.Category, severity = x.Severity, score = x.Score, threshold = x.Threshold, reason = x.Reason, attack = x.Attack, churn = x.Churn }),
        ["alerts_total"] = s.Alerts.Count,
        ["caught"] = labelled ? s.Caught : null,
        ["missed"] = labelled ? s.Missed : null,
        ["false_alerts"] = labelled ? s.FalseAlerts : null,
        ["false_alerts_on_churn"] = labelled ? s.FalseOnChurn : null,
        ["window_auc"] = labelled && !double.IsNaN(s.WindowAuc) ? Math.Round(s.WindowAuc, 4) : null,
        ["attacks"] = labelled
            ? s.Attacks.Select(x => new { scenario = x.Scenario, kind = x.Kind, start = x.Start, end = x.End, in_input = x.InInput, caught = x.Caught, seconds_to_first_alert = x.SecondsToFirstAlert, alerts = x.Alerts })
            : null,
    };

    private static string N(int n) => n.ToString(Inv);

    private static string Head(BacktestSide s) => $"{s.Role} {s.Version}{(s.Stored.Promoted ? " (promoted)" : "")}";

    private static string Trained(BacktestSide s) => s.Stored.Card is { } card ? $"{card.Training.From:MM-dd HH:mm} → {card.Training.To:MM-dd HH:mm} ({card.Training.Windows} windows)" : "?";

    private static string Auc(double auc) => double.IsNaN(auc) ? "–" : auc.ToString("0.000", Inv);

    private static string Outcome(BacktestAttack x) => !x.InInput ? "not in input" : x.Caught ? string.Create(Inv, $"caught {x.SecondsToFirstAlert:0.0} s") : "MISSED";

    private static string Answer(BacktestAlert x) => x.Attack ?? (x.Churn is { } churn ? $"false (churn {churn})" : "false");
}
