using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Lab.Reports;

/// <summary>
/// Scored behaviour windows of one model (or model version) with their labels. Scores are score/threshold ratios,
/// so the calibrated threshold is 1 for every detector and every version.
/// </summary>
public sealed record ScoreSeries(string Name, IReadOnlyList<ScoredSample> Windows);

/// <summary>The times of the alerts of one group (a version, a detector), for the alerts-per-hour plot.</summary>
public sealed record AlertSeries(string Name, IReadOnlyList<DateTimeOffset> Times);

/// <summary>A table of the report; every cell is text from the data and is escaped when written.</summary>
public sealed record ReportTable(string Caption, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>
/// What <see cref="HtmlReportWriter"/> writes to <c>index.html</c>: a title, facts, tables and the data of the plots
/// (ROC and precision–recall per series, a score histogram per series, alerts per hour per group).
/// </summary>
public sealed class EvaluationReport
{
    public required string Title { get; init; }

    /// <summary>Key–value lines under the title (input files, time span, models).</summary>
    public IReadOnlyList<(string Key, string Value)> Facts { get; init; } = [];

    public IReadOnlyList<ReportTable> Tables { get; init; } = [];

    public IReadOnlyList<ScoreSeries> Scores { get; init; } = [];

    public IReadOnlyList<AlertSeries> Alerts { get; init; } = [];

    /// <summary>What an alert series is (<c>version</c>, <c>detector</c>), for the plot's title.</summary>
    public string AlertsBy { get; init; } = "group";

    /// <summary>The time span the alerts plot covers (the replayed input).</summary>
    public DateTimeOffset From { get; init; }

    public DateTimeOffset To { get; init; }

    /// <summary>Sentences under the plots: how the figures were obtained, what they leave out.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
