using Parquet;
using Parquet.Schema;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// Writes an export as Parquet (Parquet.Net): one column per <see cref="ExportTable"/> column, features as FLOAT (the
/// model's own float32 values), timestamps as TIMESTAMP (microseconds, UTC, no zone stored), and the schema version and
/// the table's metadata in the file's key-value metadata (<c>sentinel.schema</c>, <c>sentinel.&lt;key&gt;</c>).
/// </summary>
public static class FeatureParquetWriter
{
    /// <summary>Rows per row group: a few MB each, which readers scan in parallel.</summary>
    private const int RowGroupRows = 100_000;

    public static async Task WriteAsync(string path, ExportTable table, CancellationToken ct)
    {
        var columns = table.Columns;
        var fields = columns.Select(Field).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, cancellationToken: ct).ConfigureAwait(false);
        var metadata = new Dictionary<string, string> { ["sentinel.schema"] = table.Schema };
        foreach (var (key, value) in table.Metadata)
        {
            metadata["sentinel." + key] = FeatureCsvWriter.Text(value);
        }

        writer.CustomMetadata = metadata;

        // An empty export still has its schema: one empty row group.
        for (var from = 0; from < table.Rows || from == 0; from += RowGroupRows)
        {
            var rows = Enumerable.Range(from, Math.Min(RowGroupRows, table.Rows - from)).ToArray();
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < columns.Count; c++)
            {
                var column = c;
                var field = fields[c];
                switch (columns[c].Type)
                {
                    case ColumnType.Varchar:
                        await group.WriteAsync(field, rows.Select(r => (string?)table.Value(r, column)).ToArray()).ConfigureAwait(false);
                        break;
                    case ColumnType.Timestamp:
                        await group.WriteAsync<DateTime>(field, rows.Select(r => (DateTime)table.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.Float:
                        await group.WriteAsync<float>(field, rows.Select(r => (float)table.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.BigInt:
                        await group.WriteAsync<long>(field, rows.Select(r => (long)table.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.Integer when columns[c].Nullable:
                        await group.WriteAsync<int>(field, rows.Select(r => (int?)table.Value(r, column)).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                        break;
                    case ColumnType.Integer:
                        await group.WriteAsync<int>(field, rows.Select(r => (int)table.Value(r, column)!).ToArray(), cancellationToken: ct).ConfigureAwait(false);
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
