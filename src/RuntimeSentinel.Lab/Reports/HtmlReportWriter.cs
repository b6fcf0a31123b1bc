using System.Globalization;
using System.Net;
using System.Text;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Lab.Reports;

/// <summary>
/// Writes an <see cref="EvaluationReport"/> as <c>DIR/index.html</c> with its figures as PNG files beside it. The page
/// is static and self-contained (no script, no remote resource), so it opens from a file or a CI artefact store.
/// Every text that came from the input (workload names, versions, scenarios, file names) is HTML-escaped: a labels file
/// or a model card is not trusted to be free of markup.
/// </summary>
public static class HtmlReportWriter
{
    public const string IndexFile = "index.html";

    /// <summary>Writes the report; returns the files written (index.html first). The folder is created.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string dir)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        var html = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(report.Title)).Append("</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:2em;max-width:1500px;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}")
            .Append("td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:0.9em}th{background:#eee}")
            .Append(".figures{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:0.85em;color:#555}.note{color:#555;font-size:0.9em}</style>\n")
            .Append("</head>\n<body>\n<h1>").Append(E(report.Title)).Append("</h1>\n");

        if (report.Facts.Count > 0)
        {
            html.Append("<table class=\"facts\">\n");
            foreach (var (key, value) in report.Facts)
            {
                html.Append("<tr><th>").Append(E(key)).Append("</th><td>").Append(E(value)).Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        foreach (var table in report.Tables)
        {
            html.Append("<h2>").Append(E(table.Caption)).Append("</h2>\n<table>\n<tr>");
            foreach (var h in table.Header)
            {
                html.Append("<th>").Append(E(h)).Append("</th>");
            }

            html.Append("</tr>\n");
            if (table.Rows.Count == 0)
            {
                html.Append(inv, $"<tr><td colspan=\"{Math.Max(1, table.Header.Count)}\">none</td></tr>\n");
            }

            foreach (var row in table.Rows)
            {
                html.Append("<tr>");
                foreach (var cell in row)
                {
                    html.Append("<td>").Append(E(cell)).Append("</td>");
                }

                html.Append("</tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Figures</h2>\n<div class=\"figures\">\n");
        void Figure(string file, string caption)
        {
            files.Add(Path.Combine(dir, file));
            html.Append("<figure><img src=\"").Append(E(file)).Append("\" alt=\"").Append(E(caption)).Append(inv, $"\" width=\"{ReportPlots.Width}\" height=\"{ReportPlots.Height}\">")
                .Append("<figcaption>").Append(E(caption)).Append("</figcaption></figure>\n");
        }

        // Curves need both kinds of window; a series without one is named, not drawn as a meaningless line.
        var curves = report.Scores.Where(s => s.Windows.Any(w => w.Positive) && s.Windows.Any(w => !w.Positive)).ToList();
        var missing = report.Scores.Except(curves).ToList();
        if (curves.Count > 0)
        {
            ReportPlots.Roc(curves.Select(s => (s.Name, ScoreCurves.Roc(s.Windows))).ToList(), Path.Combine(dir, "roc.png"));
            Figure("roc.png", "ROC curve of window scores against window labels");
            ReportPlots.PrecisionRecall(curves.Select(s => (s.Name, ScoreCurves.PrecisionRecall(s.Windows), s.Windows.Count(w => w.Positive) / (double)s.Windows.Count(w => !double.IsNaN(w.Score)))).ToList(), Path.Combine(dir, "pr.png"));
            Figure("pr.png", "Precision–recall curve of window scores against window labels");
        }

        for (var i = 0; i < report.Scores.Count; i++)
        {
            var file = string.Create(inv, $"scores-{i + 1}.png");
            ReportPlots.Histogram(report.Scores[i].Name, report.Scores[i].Windows, Path.Combine(dir, file));
            Figure(file, $"Score histogram of {report.Scores[i].Name}: normal and attack windows, threshold dashed");
        }

        if (report.Alerts.Count > 0)
        {
            ReportPlots.AlertsPerHour(report.Alerts, report.AlertsBy, report.From, report.To, Path.Combine(dir, "alerts.png"));
            Figure("alerts.png", $"Alerts per hour by {report.AlertsBy}");
        }

        html.Append("</div>\n");
        foreach (var s in missing)
        {
            html.Append("<p class=\"note\">No ROC or precision–recall curve for ").Append(E(s.Name)).Append(inv, $": it has {s.Windows.Count(w => w.Positive)} attack and {s.Windows.Count(w => !w.Positive)} normal windows, and a curve needs both.</p>\n");
        }

        foreach (var note in report.Notes)
        {
            html.Append("<p class=\"note\">").Append(E(note)).Append("</p>\n");
        }

        html.Append("</body>\n</html>\n");
        var index = Path.Combine(dir, IndexFile);
        File.WriteAllText(index, html.ToString(), new UTF8Encoding(false));
        files.Insert(0, index);
        return files;
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
