using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// Writes an export as CSV (RFC 4180, invariant culture, a header row, empty fields for nulls, timestamps as
/// <c>yyyy-MM-dd HH:mm:ss.ffffff</c> in UTC, floats in their shortest round-trip form) and, beside it, a
/// <c>.schema.json</c> with the schema version, the table's metadata (the feature fingerprint, the window length, ...)
/// and each column's type: CSV carries no types and no metadata, and a comment line would trip most readers.
/// </summary>
public static class FeatureCsvWriter
{
    /// <summary>The sidecar of a CSV export: <c>features.csv</c> → <c>features.csv.schema.json</c>.</summary>
    public static string SchemaPath(string csvPath) => csvPath + ".schema.json";

    public static async Task WriteAsync(string path, ExportTable table, CancellationToken ct)
    {
        var columns = table.Columns;
        await using (var writer = new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            await writer.WriteLineAsync(string.Join(',', columns.Select(c => Quote(c.Name)))).ConfigureAwait(false);
            var line = new StringBuilder();
            for (var r = 0; r < table.Rows; r++)
            {
                ct.ThrowIfCancellationRequested();
                line.Clear();
                for (var c = 0; c < columns.Count; c++)
                {
                    if (c > 0)
                    {
                        line.Append(',');
                    }

                    line.Append(Format(table.Value(r, c)));
                }

                await writer.WriteLineAsync(line, ct).ConfigureAwait(false);
            }
        }

        using var sidecar = new MemoryStream();
        using (var w = new Utf8JsonWriter(sidecar, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("schema", table.Schema);
            foreach (var (key, value) in table.Metadata)
            {
                w.WritePropertyName(key);
                JsonSerializer.Serialize(w, value, value.GetType());
            }

            w.WriteStartArray("columns");
            foreach (var c in columns)
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteString("type", TypeName(c.Type));
                w.WriteBoolean("nullable", c.Nullable);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        await File.WriteAllBytesAsync(SchemaPath(path), [.. sidecar.ToArray(), (byte)'\n'], ct).ConfigureAwait(false);
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

    /// <summary>A metadata value as text (Parquet's key-value metadata holds strings).</summary>
    public static string Text(object value) => value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value.ToString() ?? "";

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
