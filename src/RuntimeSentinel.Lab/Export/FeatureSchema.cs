using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// One behaviour window of one workload, as the window models see it: the vector (<see cref="BehaviourFeatures"/>
/// order, counts and byte totals as log(1+x)), the time it covers, and the label its events carried, if any.
/// </summary>
public sealed record FeatureRow(
    WorkloadKey Workload,
    string? ImageDigest,
    DateTimeOffset Start,
    DateTimeOffset End,
    string Phase,
    float[] Features,
    string? Scenario,
    int? Label);

/// <summary>
/// The export's columns, versioned: <see cref="Version"/> changes when a column is added, removed or changes meaning
/// (docs/data-science.md). The feature columns follow <see cref="BehaviourFeatures.Names"/>, whose own fingerprint
/// travels beside the version.
/// </summary>
public static class FeatureSchema
{
    public const string Version = "sentinel.features/v1";

    /// <summary>Prefix of the raw (unscaled) value of a log-scaled feature.</summary>
    public const string RawPrefix = "raw_";

    // Before Columns: static initialisers run in order, and Build reads it.
    /// <summary>Indexes of the features that enter the vector as log(1+x): each also gets a raw_ column.</summary>
    public static IReadOnlyList<int> LogScaled { get; } = Enumerable.Range(0, BehaviourFeatures.Names.Count).Where(BehaviourFeatures.IsLogScaled).ToArray();

    internal static IReadOnlyList<ExportColumn> Columns { get; } = Build();

    /// <summary>The rows as an export, with the fingerprint and window length as metadata.</summary>
    public static ExportTable Table(IReadOnlyList<FeatureRow> rows, TimeSpan window) =>
        ExportTable.Of(Version, Columns, rows, Value, new("feature_fingerprint", BehaviourFeatures.Fingerprint), new("window_seconds", window.TotalSeconds));

    private static List<ExportColumn> Build()
    {
        List<ExportColumn> c =
        [
            .. WorkloadColumns.Columns,
            new("window_start", ColumnType.Timestamp, false),
            new("window_end", ColumnType.Timestamp, false),
            new("phase", ColumnType.Varchar, false),
        ];
        c.AddRange(BehaviourFeatures.Names.Select(n => new ExportColumn(n, ColumnType.Float, false)));
        c.AddRange(LogScaled.Select(i => new ExportColumn(RawPrefix + BehaviourFeatures.Names[i], ColumnType.BigInt, false)));
        c.Add(new("scenario", ColumnType.Varchar, true));
        c.Add(new("label", ColumnType.Integer, true));
        return c;
    }

    /// <summary>
    /// A row's value in a column (<see cref="Columns"/> index): string, DateTime (UTC), float, long, int or null.
    /// Raw values are recovered from the model's float: exact for counts, to about one part in a million for bytes.
    /// </summary>
    public static object? Value(FeatureRow r, int column)
    {
        const int features = 10;
        var n = BehaviourFeatures.Names.Count;
        return column switch
        {
            < 7 => WorkloadColumns.Value(r.Workload, r.ImageDigest, column),
            7 => r.Start.UtcDateTime,
            8 => r.End.UtcDateTime,
            9 => r.Phase,
            _ when column < features + n => r.Features[column - features],
            _ when column < features + n + LogScaled.Count => Raw(r, LogScaled[column - features - n]),
            _ when column == features + n + LogScaled.Count => r.Scenario,
            _ => r.Label,
        };
    }

    private static long Raw(FeatureRow r, int feature) => (long)Math.Round(BehaviourFeatures.Unscale(feature, r.Features[feature]));
}
