using System.Globalization;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// Writes the feature export as CSV (RFC 4180, invariant culture, a header row, empty fields for nulls, timestamps as
/// <c>yyyy-MM-dd HH:mm:ss.ffffff</c> in UTC, floats in their shortest round-trip form) and, beside it, a
/// <c>.schema.json</c> with the schema version, the feature fingerprint, the window length and each column's type:
/// CSV carries no types and no metadata, and a comment line would trip most readers.
/// </summary>
public static class FeatureCsvWriter
{
    /// <summary>The sidecar of a CSV export: <c>features.csv</c> → <c>features.csv.schema.json</c>.</summary>
    public static string SchemaPath(string csvPath) => csvPath + ".schema.json";

    public static async Task WriteAsync(string path, IReadOnlyList<FeatureRow> rows, TimeSpan window, CancellationToken ct)
    {
        var columns = FeatureSchema.Columns;
        await using (var writer = new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            await writer.WriteLineAsync(string.Join(',', columns.Select(c => Quote(c.Name)))).ConfigureAwait(false);
            var line = new StringBuilder();
            foreach (var r in rows)
            {
                ct.ThrowIfCancellationRequested();
                line.Clear();
                for (var c = 0; c < columns.Count; c++)
                {
                    if (c > 0)
                    {
                        line.Append(',');
                    }

                    line.Append(Format(FeatureSchema.Value(r, c)));
                }

                await writer.WriteLineAsync(line, ct).ConfigureAwait(false);
            }
        }

        var schema = new
        {
            schema = FeatureSchema.Version,
            feature_fingerprint = BehaviourFeatures.Fingerprint,
            window_seconds = window.TotalSeconds,
            columns = columns.Select(c => new { name = c.Name, type = TypeName(c.Type), nullable = c.Nullable }),
        };
        await File.WriteAllTextAsync(SchemaPath(path), JsonSerializer.Serialize(schema, new JsonSerializerOptions { WriteIndented = true }) + "\n", ct).ConfigureAwait(false);
    }

    /// <summary>The type as DuckDB names it (what reading the Parquet export gives).</summary>
    public static string TypeName(ColumnType t) => t switch
    {
        ColumnType.Varchar => "VARCHAR",
        ColumnType.Timestamp => "TIMESTAMP",
        ColumnType.Float => "FLOAT",
        ColumnType.BigInt => "BIGINT",
        _ => "INTEGER",
    };

    private static string Format(object? value) => value switch
    {
        null => "",
        string s => Quote(s),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
