using System.Globalization;
using Parquet;
using Parquet.Schema;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// Writes the feature export as Parquet (Parquet.Net): one column per <see cref="FeatureSchema"/> column, features as
/// FLOAT (the model's own float32 values), timestamps as TIMESTAMP (microseconds, UTC, no zone stored), and the schema
/// version, feature fingerprint and window length in the file's key-value metadata.
/// </summary>
public static class FeatureParquetWriter
{
    /// <summary>Rows per row group: a few MB each, which readers scan in parallel.</summary>
    private const int RowGroupRows = 100_000;

    public static async Task WriteAsync(string path, IReadOnlyList<FeatureRow> rows, TimeSpan window, CancellationToken ct)
    {
        var columns = FeatureSchema.Columns;
        var fields = columns.Select(Field).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, cancellationToken: ct).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string>
        {
            ["sentinel.schema"] = FeatureSchema.Version,
            ["sentinel.feature_fingerprint"] = BehaviourFeatures.Fingerprint,
            ["sentinel.window_seconds"] = window.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        };

        // An empty export still has its schema: one empty row group.
        for (var from = 0; from < rows.Count || from == 0; from += RowGroupRows)
        {
            var chunk = rows.Skip(from).Take(RowGroupRows).ToList();
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < columns.Count; c++)
            {
                var column = c;
                var field = fields[c];
                switch (columns[c].Type)
                {
                    case ColumnType.Varchar:
                        await group.WriteAsync(field, chunk.Select(r => (string)FeatureSchema.Value(r, column)!).ToArray()).ConfigureAwait(false);
                        break;
                    case ColumnType.Timestamp:
                        await group.WriteAsync<DateTime>(field, chunk.Select(r => (DateTime)FeatureSchema.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.Float:
                        await group.WriteAsync<float>(field, chunk.Select(r => (float)FeatureSchema.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.BigInt:
                        await group.WriteAsync<long>(field, chunk.Select(r => (long)FeatureSchema.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.Integer:
                        await group.WriteAsync<int>(field, chunk.Select(r => (int?)FeatureSchema.Value(r, column)).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                }
            }
        }
    }

    private static DataField Field(ExportColumn c) => c.Type switch
    {
        ColumnType.Varchar => new DataField<string>(c.Name, c.Nullable),
        // TIMESTAMP(MICROS) with isAdjustedToUTC=false: DuckDB and pandas read a plain TIMESTAMP; values are UTC.
        ColumnType.Timestamp => new DateTimeDataField(c.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: false, unit: DateTimeTimeUnit.Micros, isNullable: c.Nullable),
        ColumnType.Float => new DataField<float>(c.Name, c.Nullable),
        ColumnType.BigInt => new DataField<long>(c.Name, c.Nullable),
        _ => new DataField<int>(c.Name, c.Nullable),
    };
}
