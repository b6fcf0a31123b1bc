using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Lab.Export;

/// <summary>Column types of the exports, named as DuckDB names them (what a reader sees).</summary>
public enum ColumnType
{
    Varchar,
    Timestamp,
    Float,
    BigInt,
    Integer,
}

/// <summary>One column of an export.</summary>
internal sealed record ExportColumn(string Name, ColumnType Type, bool Nullable);

/// <summary>
/// What <c>sentinel features export</c> writes, whatever the kind (behaviour windows, sequence windows, run vectors):
/// a versioned schema, its columns, the rows' values by index, and metadata (Parquet key-value metadata as
/// <c>sentinel.&lt;key&gt;</c>, the CSV sidecar's fields). The writers know nothing else.
/// </summary>
public sealed class ExportTable
{
    private readonly Func<int, int, object?> _value;

    private ExportTable(string schema, IReadOnlyList<ExportColumn> columns, int rows, Func<int, int, object?> value, IReadOnlyList<KeyValuePair<string, object>> metadata)
    {
        Schema = schema;
        Columns = columns;
        Rows = rows;
        _value = value;
        Metadata = metadata;
    }

    public string Schema { get; }

    internal IReadOnlyList<ExportColumn> Columns { get; }

    public int Rows { get; }

    /// <summary>Metadata besides the schema version, in order (values are strings or numbers).</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Metadata { get; }

    /// <summary>A value: string, DateTime (UTC), float, long, int or null, as the column's type says.</summary>
    public object? Value(int row, int column) => _value(row, column);

    internal static ExportTable Of<T>(string schema, IReadOnlyList<ExportColumn> columns, IReadOnlyList<T> rows, Func<T, int, object?> value, params KeyValuePair<string, object>[] metadata) =>
        new(schema, columns, rows.Count, (r, c) => value(rows[r], c), metadata);
}

/// <summary>The columns every export starts with: the workload key as the other verbs take it, its parts, and the image digest.</summary>
internal static class WorkloadColumns
{
    internal static IReadOnlyList<ExportColumn> Columns { get; } =
    [
        new("workload", ColumnType.Varchar, false),
        new("cluster", ColumnType.Varchar, false),
        new("namespace", ColumnType.Varchar, false),
        new("owner_kind", ColumnType.Varchar, false),
        new("owner_name", ColumnType.Varchar, false),
        new("container", ColumnType.Varchar, false),
        new("image_digest", ColumnType.Varchar, true),
    ];

    /// <summary>Column <paramref name="column"/> (below <see cref="Columns"/>' count) of a row of this workload.</summary>
    public static object? Value(WorkloadKey key, string? digest, int column) => column switch
    {
        0 => key.Value,
        1 => key.Cluster,
        2 => key.Namespace,
        3 => key.OwnerKind,
        4 => key.OwnerName,
        5 => key.Container,
        _ => digest,
    };
}
