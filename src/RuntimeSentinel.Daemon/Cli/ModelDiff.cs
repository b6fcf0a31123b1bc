using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel models diff WORKLOAD A B</c>: what changed between two stored versions of a workload's model before one
/// is promoted over the other — learned items added and removed per kind, the detector set and thresholds, the training
/// window and data, and the held-back figures from the cards. Reads only the version folders (cards and known items).
/// </summary>
internal static class ModelDiff
{
    /// <summary>Items listed per kind in the text output; the JSON output has them all.</summary>
    private const int ShownItems = 10;

    public sealed record ItemChange(string Kind, IReadOnlyList<string> Added, IReadOnlyList<string> Removed, int Kept);

    public sealed record DetectorChange(string Detector, double? ThresholdA, double? ThresholdB, double? AlertsPerDayA, double? AlertsPerDayB, double? P99A, double? P99B);

    public sealed record Result(ModelCard A, ModelCard B, IReadOnlyList<ItemChange> Items, IReadOnlyList<DetectorChange> Detectors);

    public static async Task<int> RunAsync(string modelsDir, string workload, string versionA, string versionB, bool json, TextWriter stdout, TextWriter stderr)
    {
        var store = new ModelStore(modelsDir);
        var versions = store.List().Where(m => m.Workload == workload || ModelStore.Slug(m.Workload) == ModelStore.Slug(workload)).ToList();
        StoredModel? Pick(string v) => v == "promoted" ? versions.FirstOrDefault(m => m.Promoted) : versions.FirstOrDefault(m => m.Version == v);
        var a = Pick(versionA);
        var b = Pick(versionB);
        foreach (var (v, m) in new[] { (versionA, a), (versionB, b) })
        {
            if (m?.Card is null)
            {
                await stderr.WriteLineAsync(m?.Problem ?? $"models diff: no version {v} of {workload} under {modelsDir} (versions: {string.Join(", ", versions.Select(x => x.Version))})").ConfigureAwait(false);
                return 1;
            }
        }

        var result = Compare(a!, b!);
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                workload = result.B.Workload,
                a = Summary(result.A),
                b = Summary(result.B),
                items = result.Items.Select(i => new { kind = i.Kind, added = i.Added, removed = i.Removed, kept = i.Kept }),
                detectors = result.Detectors.Select(d => new
                {
                    detector = d.Detector,
                    threshold_a = d.ThresholdA,
                    threshold_b = d.ThresholdB,
                    expected_alerts_per_day_a = d.AlertsPerDayA,
                    expected_alerts_per_day_b = d.AlertsPerDayB,
                    p99_a = d.P99A,
                    p99_b = d.P99B,
                }),
            })).ConfigureAwait(false);
            return 0;
        }

        await stdout.WriteLineAsync(Text(result)).ConfigureAwait(false);
        return 0;
    }

    public static Result Compare(StoredModel a, StoredModel b)
    {
        var knownA = Known(a.Path);
        var knownB = Known(b.Path);
        var items = knownA.Keys.Union(knownB.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(kind =>
        {
            var x = knownA.GetValueOrDefault(kind) ?? [];
            var y = knownB.GetValueOrDefault(kind) ?? [];
            return new ItemChange(kind, y.Except(x, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(), x.Except(y, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(), x.Intersect(y, StringComparer.Ordinal).Count());
        }).ToList();

        var ca = a.Card!;
        var cb = b.Card!;
        var detectors = ca.Thresholds.Keys.Union(cb.Thresholds.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(d => new DetectorChange(
            d,
            ca.Thresholds.TryGetValue(d, out var ta) ? ta : null,
            cb.Thresholds.TryGetValue(d, out var tb) ? tb : null,
            ca.Evaluation.TryGetValue(d, out var ea) ? ea.ExpectedAlertsPerDay : null,
            cb.Evaluation.TryGetValue(d, out var eb) ? eb.ExpectedAlertsPerDay : null,
            ea?.P99,
            eb?.P99)).ToList();
        return new Result(ca, cb, items, detectors);
    }

    /// <summary>The learned items a version carries, per kind (executables, files, endpoints, ...); none when it has no file.</summary>
    private static Dictionary<string, HashSet<string>> Known(string versionPath)
    {
        var file = Path.Combine(versionPath, WorkloadModel.KnownItemsFile);
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        if (!File.Exists(file))
        {
            return result;
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        foreach (var kind in doc.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
        {
            result[kind.Name] = kind.Value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToHashSet(StringComparer.Ordinal);
        }

        return result;
    }

    private static object Summary(ModelCard c) => new
    {
        version = c.Version,
        created_at = c.CreatedAt,
        fingerprint = c.Fingerprint,
        source = c.Training.Source,
        from = c.Training.From,
        to = c.Training.To,
        events = c.Training.Events,
        windows = c.Training.Windows,
        data_sha256 = c.Training.DataSha256,
        window_seconds = c.WindowSeconds,
        target_alerts_per_day = c.TargetAlertsPerDay,
    };

    public static string Text(Result r)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        var (a, b) = (r.A, r.B);
        sb.AppendLine(inv, $"{b.Workload}: {a.Version} → {b.Version}");
        sb.AppendLine(inv, $"  trained on    {a.Training.Source}, {a.Training.Events:N0} events, {a.Training.Windows} windows, {a.Training.From:u} → {a.Training.To:u}");
        sb.AppendLine(inv, $"           vs   {b.Training.Source}, {b.Training.Events:N0} events, {b.Training.Windows} windows, {b.Training.From:u} → {b.Training.To:u}");
        sb.AppendLine(inv, $"  data          {(a.Training.DataSha256 == b.Training.DataSha256 ? "same data (sha256 equal)" : "different data")}; window {a.WindowSeconds:0.###} s → {b.WindowSeconds:0.###} s; feature schema {(a.Fingerprint == b.Fingerprint ? "same" : $"{a.Fingerprint} → {b.Fingerprint}")}");
        sb.AppendLine("  detectors (threshold, expected alerts/day on held-back windows):");
        foreach (var d in r.Detectors)
        {
            var state = d.ThresholdA is null ? "added" : d.ThresholdB is null ? "removed" : "";
            sb.AppendLine(string.Create(inv, $"    {d.Detector,-22} {Num(d.ThresholdA),10} → {Num(d.ThresholdB),-10} {Num(d.AlertsPerDayA),7} → {Num(d.AlertsPerDayB),-7} {state}").TrimEnd());
        }

        sb.AppendLine("  learned items:");
        foreach (var i in r.Items)
        {
            sb.AppendLine(inv, $"    {i.Kind,-14} +{i.Added.Count} -{i.Removed.Count} ({i.Kept} in both)");
            foreach (var x in i.Added.Take(ShownItems))
            {
                sb.AppendLine(inv, $"      + {Core.Text.ControlCharacters.Escape(x)}");
            }

            foreach (var x in i.Removed.Take(ShownItems))
            {
                sb.AppendLine(inv, $"      - {Core.Text.ControlCharacters.Escape(x)}");
            }

            if (i.Added.Count + i.Removed.Count > 2 * ShownItems)
            {
                sb.AppendLine("      … (--json lists them all)");
            }
        }

        return sb.ToString().TrimEnd();

        static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "–";
    }
}
