using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// <c>sentinel features export</c> as a data scientist uses it: the Parquet file read back with DuckDB (npm
/// <c>@duckdb/node-api</c>, installed by .ci/run in tests/duckdb), compared with the CSV export and its schema sidecar,
/// and the windows checked against what training used and against counts taken from the events themselves.
/// </summary>
public sealed class FeaturesExportTests : IDisposable
{
    private const double WindowSeconds = 2;
    private readonly TempFolder _temp = new("features-export-");

    public void Dispose() => _temp.Dispose();

    private static async Task<string> SentinelAsync(params string[] args)
    {
        using var p = new SentinelProcess(args);
        Assert.True(0 == await p.WaitForExitAsync(TimeSpan.FromSeconds(180)), $"sentinel {string.Join(' ', args)}: {p.Stderr}");
        return p.Stdout;
    }

    [Fact]
    public async Task Export_CorpusWithItsLabelsFile_WindowsOverlappingAnAttackOfTheirWorkloadArePositive()
    {
        // The corpus's sensor files carry no scenario labels; its ground truth is labels.json, which --labels applies.
        await SentinelAsync("corpus", "--out", _temp.Path, "--seed", "7");
        var csv = _temp["labelled.csv"];
        await SentinelAsync("features", "export", _temp["tetragon.jsonl"], _temp["hubble.jsonl"], _temp["falco.jsonl"], "--labels", _temp["labels.json"], "--out", csv, "--format", "csv");

        using var labels = JsonDocument.Parse(await File.ReadAllTextAsync(_temp["labels.json"]));
        var attacks = labels.RootElement.GetProperty("scenarios").EnumerateArray()
            .Where(l => l.GetProperty("kind").GetString()!.StartsWith("attack", StringComparison.Ordinal))
            .Select(l => (Scenario: l.GetProperty("scenario").GetString()!, Workloads: l.GetProperty("related_workloads").EnumerateArray().Select(r => r.GetString()!).Append(l.GetProperty("workload").GetString()!).ToList(), Start: Time(l.GetProperty("start")), End: Time(l.GetProperty("end"))))
            .ToList();
        var lines = await File.ReadAllLinesAsync(csv);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        var positives = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            var workload = $"{f[Col("namespace")]}/{f[Col("owner_kind")]}/{f[Col("owner_name")]}";
            var start = DateTime.Parse(f[Col("window_start")], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            var end = DateTime.Parse(f[Col("window_end")], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            // An attack concerns its workload and the ones it acts on (related_workloads), as evaluate stream judges it.
            var attack = attacks.FirstOrDefault(a => a.Workloads.Contains(workload) && a.Start < end && a.End >= start);
            Assert.Equal(attack.Scenario is null ? "0" : "1", f[Col("label")]);
            if (attack.Scenario is not null)
            {
                Assert.Equal(attack.Scenario, f[Col("scenario")]);
                positives.Add(attack.Scenario);
            }
        }

        // Most attacks of the corpus are in some workload's windows (those during learning and after are all exported).
        Assert.True(positives.Count >= 5, string.Join(", ", positives));
    }

    [SkippableFact]
    public async Task Export_DemoEventsWithAttacks_DuckDbReadsTheParquetAsTheCsvWithTheWindowsTrainingUses()
    {
        var node = Tools.Require("node", "Node.js");
        var reader = Path.Combine(Datasets.RepoRoot, "tests/duckdb");
        if (!Directory.Exists(Path.Combine(reader, "node_modules", "@duckdb", "node-api")))
        {
            Tools.Require("@duckdb/node-api-installed", "run 'npm ci' in tests/duckdb");
        }

        var events = _temp["events.jsonl"];
        await File.WriteAllTextAsync(events, await SentinelAsync("demo-events", "--seconds", "120", "--seed", "1", "--attacks-after", "60"));
        var window = WindowSeconds.ToString(CultureInfo.InvariantCulture);
        var parquet = _temp["features.parquet"];
        var csv = _temp["features.csv"];
        var exported = JsonDocument.Parse(await SentinelAsync("features", "export", events, "--out", parquet, "--window", window, "--json")).RootElement;
        await SentinelAsync("features", "export", events, "--out", csv, "--format", "csv", "--window", window);

        // DuckDB, as users read it.
        var (code, stdout, stderr) = await Tools.RunAsync(node, ["read.mjs", parquet], workingDirectory: reader);
        Assert.True(code == 0, $"node read.mjs: {stderr}");
        var duck = JsonDocument.Parse(stdout).RootElement;
        var columns = duck.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
        var types = duck.GetProperty("types").EnumerateArray().Select(c => c.GetString()!).ToList();
        var rows = duck.GetProperty("rows").EnumerateArray().Select(r => r.EnumerateArray().ToList()).ToList();
        Assert.Equal("sentinel.features/v1", duck.GetProperty("metadata").GetProperty("sentinel.schema").GetString());
        Assert.Equal(window, duck.GetProperty("metadata").GetProperty("sentinel.window_seconds").GetString());

        // The CSV: the same columns (its sidecar gives the types DuckDB reports), the same rows, the same values.
        var schema = JsonDocument.Parse(await File.ReadAllTextAsync(csv + ".schema.json")).RootElement;
        Assert.Equal("sentinel.features/v1", schema.GetProperty("schema").GetString());
        var declared = schema.GetProperty("columns").EnumerateArray().Select(c => (Name: c.GetProperty("name").GetString()!, Type: c.GetProperty("type").GetString()!)).ToList();
        var lines = await File.ReadAllLinesAsync(csv);
        Assert.Equal(columns, lines[0].Split(','));
        Assert.Equal(columns, declared.Select(c => c.Name));
        Assert.Equal(types, declared.Select(c => c.Type));
        Assert.Equal(rows.Count, lines.Length - 1);
        Assert.Equal(exported.GetProperty("rows").GetInt32(), rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            var fields = lines[r + 1].Split(','); // no value here holds a comma
            Assert.Equal(columns.Count, fields.Length);
            for (var c = 0; c < columns.Count; c++)
            {
                AssertSame(types[c], rows[r][c], fields[c], $"row {r}, {columns[c]}");
            }
        }

        // Types as a data scientist expects them.
        string TypeOf(string column) => types[columns.IndexOf(column)];
        Assert.Equal("VARCHAR", TypeOf("workload"));
        Assert.Equal("TIMESTAMP", TypeOf("window_start"));
        Assert.Equal("TIMESTAMP", TypeOf("window_end"));
        Assert.All(new[] { "events", "exec", "connect", "bytes_out", "new_exe_ratio", "cpu_cores", "memory_mib" }, f => Assert.Equal("FLOAT", TypeOf(f)));
        Assert.Equal(32, columns.IndexOf("raw_events"));
        Assert.Equal(10, columns.IndexOf("events"));

        // The workload column holds the keys the other verbs take, and each has the windows its training used (the
        // model card counts them after the first tenth, which the trainer drops as warm-up).
        var trained = JsonDocument.Parse(await SentinelAsync("train", events, "--models", _temp["models"], "--window", window, "--json")).RootElement
            .GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("workload").GetString()!, m => m.GetProperty("windows").GetInt32());
        var perWorkload = rows.GroupBy(r => r[0].GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(trained.Keys.Order(), perWorkload.Keys.Order());
        Assert.Contains("demo/shop/StatefulSet/postgres/postgres", perWorkload.Keys);
        Assert.All(perWorkload, w => Assert.Equal(trained[w.Key], w.Value - (w.Value / 10)));
        Assert.All(perWorkload, w => Assert.True(w.Value >= 55, $"{w.Key}: {w.Value} windows of {window} s in 120 s"));

        // Every window against the events themselves: how many of its workload's events fall in it, how many execs,
        // and whether one was an attack.
        var recorded = File.ReadLines(events).Select(l => JsonDocument.Parse(l).RootElement).Select(e => (
            Workload: e.GetProperty("workload"),
            Time: DateTimeOffset.Parse(e.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture).UtcDateTime,
            Kind: e.GetProperty("kind").GetString(),
            Scenario: e.TryGetProperty("labels", out var l) && l.TryGetProperty("scenario", out var s) ? s.GetString() : null)).ToList();
        var attackWindows = 0;
        foreach (var row in rows)
        {
            string Text(string column) => row[columns.IndexOf(column)].GetString()!;
            var start = Time(row[columns.IndexOf("window_start")]);
            var end = Time(row[columns.IndexOf("window_end")]);
            Assert.Equal(TimeSpan.FromSeconds(WindowSeconds), end - start);
            var inside = recorded.Where(e =>
                e.Workload.GetProperty("cluster").GetString() == Text("cluster") && e.Workload.GetProperty("namespace").GetString() == Text("namespace") &&
                e.Workload.GetProperty("container").GetString() == Text("container") && OwnedBy(e.Workload.GetProperty("owner_name").GetString()!, Text("owner_name")) &&
                e.Time >= start && e.Time < end).ToList();
            var where = $"{Text("workload")} {start:O}";
            Assert.True(inside.Count > 0, where);
            Assert.Equal(inside.Count, long.Parse(Text("raw_events"), CultureInfo.InvariantCulture));
            Assert.Equal((float)Math.Log(1 + inside.Count), (float)row[columns.IndexOf("events")].GetDouble());
            Assert.Equal((float)Math.Log(1 + inside.Count(e => e.Kind == "process_exec")), (float)row[columns.IndexOf("exec")].GetDouble());
            var attack = inside.Any(e => e.Scenario?.StartsWith("attack", StringComparison.Ordinal) == true);
            attackWindows += attack ? 1 : 0;
            Assert.Equal(attack ? 1 : 0, row[columns.IndexOf("label")].GetInt32());
            Assert.Equal("learning", Text("phase"));
            Assert.StartsWith("sha256:", Text("image_digest"), StringComparison.Ordinal);
        }

        Assert.True(attackWindows >= 3, $"{attackWindows} windows with an attack");
    }

    /// <summary>A pod's owner (ReplicaSet storefront-6d4cf56db6, Job report-builder-29x) names the workload's owner (storefront).</summary>
    private static bool OwnedBy(string podOwner, string workloadOwner) =>
        podOwner == workloadOwner || podOwner.StartsWith(workloadOwner + "-", StringComparison.Ordinal);

    private static DateTime Time(JsonElement e) => DateTime.Parse(e.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static void AssertSame(string type, JsonElement duck, string csv, string where)
    {
        if (duck.ValueKind == JsonValueKind.Null)
        {
            Assert.True(csv.Length == 0, $"{where}: DuckDB null, CSV '{csv}'");
            return;
        }

        switch (type)
        {
            case "FLOAT":
                Assert.True(float.Parse(csv, CultureInfo.InvariantCulture) == (float)duck.GetDouble(), $"{where}: DuckDB {duck}, CSV {csv}");
                break;
            case "BIGINT":
                Assert.True(long.Parse(csv, CultureInfo.InvariantCulture) == long.Parse(duck.GetString()!, CultureInfo.InvariantCulture), $"{where}: DuckDB {duck}, CSV {csv}");
                break;
            case "INTEGER":
                Assert.True(int.Parse(csv, CultureInfo.InvariantCulture) == duck.GetInt32(), $"{where}: DuckDB {duck}, CSV {csv}");
                break;
            case "TIMESTAMP":
                Assert.True(Time(duck) == DateTime.Parse(csv, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), $"{where}: DuckDB {duck}, CSV {csv}");
                break;
            default:
                Assert.True(duck.GetString() == csv, $"{where}: DuckDB {duck}, CSV {csv}");
                break;
        }
    }
}
