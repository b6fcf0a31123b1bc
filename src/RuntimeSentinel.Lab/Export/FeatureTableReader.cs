using System.Globalization;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Lab.Export;

/// <summary>One exported window as a reader of the export needs it: whose, when, the vector (schema order) and the label.</summary>
public sealed record ExportedWindow(string Workload, DateTimeOffset Start, float[] Features, int? Label);

/// <summary>A feature export read back: its windows, window length and feature fingerprint (null when the file does not say).</summary>
public sealed record FeatureTable(IReadOnlyList<ExportedWindow> Windows, double? WindowSeconds, string? Fingerprint);

/// <summary>
/// Reads a feature export (<c>sentinel features export</c>, Parquet or CSV with its schema sidecar) back, for
/// <c>sentinel models import</c> to calibrate an imported model on windows it was not fitted on. Only the columns it
/// needs: workload, window_start, the 22 feature columns and label. A file that is not such an export is refused with
/// an <see cref="InvalidDataException"/> naming the problem.
/// </summary>
public static class FeatureTableReader
{
    public static async Task<FeatureTable> ReadAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: no such feature export");
        }

        var head = new byte[4];
        await using (var s = File.OpenRead(path))
        {
            _ = await s.ReadAsync(head, ct).ConfigureAwait(false);
        }

        return head.AsSpan().SequenceEqual("PAR1"u8) ? await ReadParquetAsync(path, ct).ConfigureAwait(false) : await ReadCsvAsync(path, ct).ConfigureAwait(false);
    }

    private static async Task<FeatureTable> ReadParquetAsync(string path, CancellationToken ct)
    {
        try
        {
            await using var stream = File.OpenRead(path);
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
            var meta = reader.CustomMetadata ?? new Dictionary<string, string>();
            var fields = reader.Schema.GetDataFields().ToDictionary(f => f.Name, StringComparer.Ordinal);
            DataField Field(string name) => fields.TryGetValue(name, out var f) ? f : throw new InvalidDataException($"{path}: no column '{name}' (not a sentinel.features/v1 export)");
            var names = BehaviourFeatures.Names;
            var windows = new List<ExportedWindow>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = checked((int)group.RowCount);
                var workload = new string?[rows];
                await group.ReadAsync(Field("workload"), workload.AsMemory(), null, ct).ConfigureAwait(false);
                var start = new DateTime[rows];
                await group.ReadAsync(Field("window_start"), start.AsMemory(), null, ct).ConfigureAwait(false);
                var label = new int?[rows];
                if (fields.ContainsKey("label"))
                {
                    await group.ReadAsync(Field("label"), label.AsMemory(), null, ct).ConfigureAwait(false);
                }

                var features = new float[names.Count][];
                for (var i = 0; i < names.Count; i++)
                {
                    features[i] = new float[rows];
                    await group.ReadAsync(Field(names[i]), features[i].AsMemory(), null, ct).ConfigureAwait(false);
                }

                for (var r = 0; r < rows; r++)
                {
                    var v = new float[names.Count];
                    for (var i = 0; i < v.Length; i++)
                    {
                        v[i] = features[i][r];
                    }

                    windows.Add(new ExportedWindow(workload[r] ?? "", new DateTimeOffset(DateTime.SpecifyKind(start[r], DateTimeKind.Utc)), v, label[r]));
                }
            }

            return new FeatureTable(windows, meta.TryGetValue("sentinel.window_seconds", out var w) && double.TryParse(w, CultureInfo.InvariantCulture, out var ws) ? ws : null, meta.GetValueOrDefault("sentinel.feature_fingerprint"));
        }
        catch (Exception ex) when (ex is not (InvalidDataException or OperationCanceledException or OutOfMemoryException))
        {
            throw new InvalidDataException($"{path}: unreadable Parquet feature export ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }

    private static async Task<FeatureTable> ReadCsvAsync(string path, CancellationToken ct)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        var header = await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } h ? Split(h) : throw new InvalidDataException($"{path}: empty file");
        int Col(string name)
        {
            var i = header.IndexOf(name);
            return i >= 0 ? i : throw new InvalidDataException($"{path}: no column '{name}' (not a sentinel.features/v1 export)");
        }

        var (workloadCol, startCol, labelCol) = (Col("workload"), Col("window_start"), header.IndexOf("label"));
        var featureCols = BehaviourFeatures.Names.Select(Col).ToArray();
        var windows = new List<ExportedWindow>();
        var line = 1;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var f = Split(text);
            if (f.Count != header.Count)
            {
                throw new InvalidDataException($"{path}:{line}: {f.Count} fields, the header has {header.Count}");
            }

            var v = new float[featureCols.Length];
            for (var i = 0; i < v.Length; i++)
            {
                if (!float.TryParse(f[featureCols[i]], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]))
                {
                    throw new InvalidDataException($"{path}:{line}: '{f[featureCols[i]]}' in column {header[featureCols[i]]} is not a number");
                }
            }

            if (!DateTime.TryParse(f[startCol], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var start))
            {
                throw new InvalidDataException($"{path}:{line}: '{f[startCol]}' in window_start is not a time");
            }

            int? label = labelCol >= 0 && int.TryParse(f[labelCol], CultureInfo.InvariantCulture, out var l) ? l : null;
            windows.Add(new ExportedWindow(f[workloadCol], new DateTimeOffset(start, TimeSpan.Zero), v, label));
        }

        double? window = null;
        string? fingerprint = null;
        var sidecar = FeatureCsvWriter.SchemaPath(path);
        if (File.Exists(sidecar))
        {
            try
            {
                using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(sidecar, ct).ConfigureAwait(false));
                window = doc.RootElement.TryGetProperty("window_seconds", out var w) && w.TryGetDouble(out var ws) ? ws : null;
                fingerprint = doc.RootElement.TryGetProperty("feature_fingerprint", out var fp) ? fp.GetString() : null;
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{sidecar}: unreadable schema sidecar ({ex.Message})", ex);
            }
        }

        return new FeatureTable(windows, window, fingerprint);
    }

    /// <summary>One CSV record (RFC 4180: quoted fields, doubled quotes); exports have no line breaks inside fields.</summary>
    private static List<string> Split(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        fields.Add(sb.ToString());
        return fields;
    }
}
