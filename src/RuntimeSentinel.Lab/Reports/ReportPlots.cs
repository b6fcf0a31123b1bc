using System.Globalization;
using RuntimeSentinel.Lab.Evaluation;
using ScottPlot;

namespace RuntimeSentinel.Lab.Reports;

/// <summary>
/// The report's figures, drawn with ScottPlot (SkiaSharp underneath) to PNG files. Each method writes one file and
/// returns nothing else: what the figures show is computed by <see cref="ScoreCurves"/> and the callers.
/// </summary>
public static class ReportPlots
{
    public const int Width = 720;
    public const int Height = 440;

    /// <summary>ROC curves of every series that has both kinds of window, with the chance diagonal.</summary>
    public static void Roc(IReadOnlyList<(string Name, IReadOnlyList<RocPoint> Points)> series, string path)
    {
        var plot = new Plot();
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance";
        foreach (var (name, points) in series)
        {
            var line = plot.Add.Scatter(points.Select(p => p.FalsePositiveRate).ToArray(), points.Select(p => p.TruePositiveRate).ToArray());
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{name} (AUC {ScoreCurves.Auc(points):0.000})");
        }

        Finish(plot, "ROC: behaviour windows", "false-positive rate (normal windows flagged)", "detection rate (attack windows flagged)", path, unitSquare: true);
    }

    /// <summary>Precision–recall curves, each with its base rate (the precision of flagging everything).</summary>
    public static void PrecisionRecall(IReadOnlyList<(string Name, IReadOnlyList<PrPoint> Points, double BaseRate)> series, string path)
    {
        var plot = new Plot();
        foreach (var (name, points, baseRate) in series)
        {
            var line = plot.Add.Scatter(points.Select(p => p.Recall).ToArray(), points.Select(p => p.Precision).ToArray());
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{name} (AP {ScoreCurves.AveragePrecision(points):0.000})");
            var floor = plot.Add.HorizontalLine(baseRate);
            floor.LinePattern = LinePattern.Dotted;
            floor.Color = line.Color;
            floor.LineWidth = 1;
        }

        Finish(plot, "Precision–recall: behaviour windows (dotted: base rate)", "recall (attack windows flagged)", "precision (flagged windows that are attacks)", path, unitSquare: true);
    }

    /// <summary>
    /// The share of normal and of attack windows in each score bin (shares, since attack windows are rare), with the
    /// calibrated threshold (1) drawn. Scores above the top bin are counted in it, so one huge score does not squash the rest.
    /// </summary>
    public static void Histogram(string name, IReadOnlyList<ScoredSample> windows, string path)
    {
        const int bins = 40;
        var finite = windows.Where(w => !double.IsNaN(w.Score)).ToList();
        var sorted = finite.Select(w => w.Score).Order().ToList();
        var top = sorted.Count == 0 ? 2 : Math.Max(2, sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(0.99 * (sorted.Count - 1)))] * 1.1);
        top = Math.Max(top, finite.Where(w => w.Positive).Select(w => Math.Min(w.Score, 50)).DefaultIfEmpty(0).Max() * 1.05);
        var width = top / bins;
        var plot = new Plot();
        foreach (var (positive, label, color) in new[] { (false, "normal windows", Colors.SteelBlue), (true, "attack windows", Colors.OrangeRed) })
        {
            var scores = finite.Where(w => w.Positive == positive).Select(w => w.Score).ToList();
            if (scores.Count == 0)
            {
                continue;
            }

            var counts = new double[bins];
            foreach (var s in scores)
            {
                counts[Math.Clamp((int)Math.Floor(Math.Max(0, s) / width), 0, bins - 1)]++;
            }

            var bars = plot.Add.Bars(Enumerable.Range(0, bins).Select(i => (i + 0.5) * width).ToArray(), counts.Select(c => c / scores.Count).ToArray());
            bars.LegendText = string.Create(CultureInfo.InvariantCulture, $"{label} ({scores.Count})");
            foreach (var bar in bars.Bars)
            {
                bar.Size = width * 0.9;
                bar.FillColor = color.WithAlpha(0.55);
                bar.LineWidth = 0;
            }
        }

        var threshold = plot.Add.VerticalLine(1.0);
        threshold.Color = Colors.Black;
        threshold.LineWidth = 2;
        threshold.LinePattern = LinePattern.Dashed;
        threshold.LegendText = "calibrated threshold";
        plot.Axes.SetLimitsX(0, top);
        Finish(plot, $"Scores of {name}", string.Create(CultureInfo.InvariantCulture, $"window score / threshold (last bin: ≥ {top - width:0.##})"), "share of windows", path, unitSquare: false);
    }

    /// <summary>Alerts per hour over the input's time span, one line per group, in bins of a few minutes.</summary>
    public static void AlertsPerHour(IReadOnlyList<AlertSeries> groups, string by, DateTimeOffset from, DateTimeOffset to, string path)
    {
        if (to <= from)
        {
            to = from + TimeSpan.FromHours(1);
        }

        var bin = BinFor(to - from);
        var start = new DateTimeOffset(from.UtcTicks - (from.UtcTicks % bin.Ticks), TimeSpan.Zero);
        var count = (int)Math.Ceiling((to - start) / bin);
        var perHour = TimeSpan.FromHours(1) / bin;
        var plot = new Plot();
        var dashed = false;
        foreach (var g in groups)
        {
            var counts = new double[count];
            foreach (var t in g.Times)
            {
                var i = (int)Math.Floor((t - start) / bin);
                if (i >= 0 && i < count)
                {
                    counts[i] += perHour;
                }
            }

            // Each bin's rate is drawn as a step over the bin (not a point in its middle), so a bin reads as a span of time.
            var xs = Enumerable.Range(0, count + 1).Select(i => (start + (bin * i)).UtcDateTime.ToOADate()).ToArray();
            var ys = counts.Append(counts.Length == 0 ? 0 : counts[^1]).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{g.Name} ({g.Times.Count})");

            // Two versions often agree: the later lines are dashed so that one drawn over another still shows.
            line.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
            dashed = true;
        }

        plot.Axes.DateTimeTicksBottom();
        plot.Axes.Margins(bottom: 0);
        Finish(plot, string.Create(CultureInfo.InvariantCulture, $"Alerts per hour by {by} (bins of {bin.TotalMinutes:0} min, UTC)"), "event time", "alerts per hour", path, unitSquare: false);
    }

    /// <summary>A bin of a round number of minutes giving 12 to 60 bins over the span.</summary>
    public static TimeSpan BinFor(TimeSpan span)
    {
        foreach (var minutes in new[] { 1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440 })
        {
            if (span / TimeSpan.FromMinutes(minutes) <= 60)
            {
                return TimeSpan.FromMinutes(minutes);
            }
        }

        return TimeSpan.FromDays(Math.Ceiling(span.TotalDays / 60));
    }

    private static void Finish(Plot plot, string title, string x, string y, string path, bool unitSquare)
    {
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        if (unitSquare)
        {
            plot.Axes.SetLimits(-0.01, 1.01, -0.01, 1.01);
        }

        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }
}
