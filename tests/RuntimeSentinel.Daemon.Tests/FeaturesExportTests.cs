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

        // Run vectors of the corpus's CronJob: each backup pod is a run, counted from the events as the run detector
        // counts them (bytes sent by connections and flows, connections, programs run), recomputed here from the native
        // form of the same sensor files; the run that copies far more is the labelled attack.
        var runsCsv = _temp["runs.csv"];
        await SentinelAsync("features", "export", _temp["tetragon.jsonl"], _temp["hubble.jsonl"], _temp["falco.jsonl"], "--labels", _temp["labels.json"], "--kind", "runs", "--out", runsCsv, "--format", "csv");
        var native = (await SentinelAsync("convert", "--from", "auto", _temp["tetragon.jsonl"], _temp["hubble.jsonl"], _temp["falco.jsonl"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("workload").TryGetProperty("owner_kind", out var k) && k.GetString() is "CronJob" or "Job")
            .GroupBy(e => e.GetProperty("workload").GetProperty("pod").GetString()!)
            .ToDictionary(g => g.Key, g => g.ToList());
        var runLines = await File.ReadAllLinesAsync(runsCsv);
        var runHeader = runLines[0].Split(',');
        int RunCol(string name) => Array.IndexOf(runHeader, name);
        var runRows = runLines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(native.Count, runRows.Count);
        Assert.True(runRows.Count >= 4, $"{runRows.Count} runs");
        long Bytes(JsonElement e) => e.TryGetProperty("net", out var n) && n.TryGetProperty("bytes_out", out var b) ? b.GetInt64() : 0;
        for (var i = 0; i < runRows.Count; i++)
        {
            var f = runRows[i];
            var run = native[f[RunCol("run")]];
            string Kind(JsonElement e) => e.GetProperty("kind").GetString()!;
            var start = run.Min(e => Time(e.GetProperty("ts")));
            var end = run.Max(e => Time(e.GetProperty("ts")));
            Assert.Equal("data/CronJob/backup", $"{f[RunCol("namespace")]}/{f[RunCol("owner_kind")]}/{f[RunCol("owner_name")]}");
            Assert.Equal(run.Where(e => Kind(e) is "net_connect" or "net_flow").Sum(Bytes), long.Parse(f[RunCol("bytes_out")], CultureInfo.InvariantCulture));
            Assert.Equal(run.Count(e => Kind(e) == "net_connect"), long.Parse(f[RunCol("connections")], CultureInfo.InvariantCulture));
            Assert.Equal(run.Count(e => Kind(e) == "process_exec"), long.Parse(f[RunCol("execs")], CultureInfo.InvariantCulture));
            Assert.Equal(start, DateTime.Parse(f[RunCol("run_start")], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));
            Assert.Equal(end, DateTime.Parse(f[RunCol("run_end")], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));

            // Each run is finished by the next one starting (it was idle by then); the last is still open.
            Assert.Equal(i < runRows.Count - 1 ? "1" : "0", f[RunCol("finished")]);
            var attack = attacks.FirstOrDefault(a => a.Workloads.Contains("data/CronJob/backup") && a.Start < end && a.End >= start);
            Assert.Equal(attack.Scenario is null ? "0" : "1", f[RunCol("label")]);
        }

        var copied = runRows.Single(f => f[RunCol("label")] == "1");
        Assert.True(long.Parse(copied[RunCol("bytes_out")], CultureInfo.InvariantCulture) > 10 * runRows.Where(f => f != copied).Max(f => long.Parse(f[RunCol("bytes_out")], CultureInfo.InvariantCulture)));
    }

    /// <summary>What DuckDB read from a Parquet export: columns, their types, rows, and the file's metadata.</summary>
    private sealed record DuckRead(List<string> Columns, List<string> Types, List<List<JsonElement>> Rows, JsonElement Metadata)
    {
        public int Column(string name) => Columns.IndexOf(name);

        public string Text(List<JsonElement> row, string column) => row[Column(column)].GetString()!;
    }

    private static string DuckDbReader()
    {
        Tools.Require("node", "Node.js");
        var reader = Path.Combine(Datasets.RepoRoot, "tests/duckdb");
        if (!Directory.Exists(Path.Combine(reader, "node_modules", "@duckdb", "node-api")))
        {
            Tools.Require("@duckdb/node-api-installed", "run 'npm ci' in tests/duckdb");
        }

        return reader;
    }

    /// <summary>
    /// Exports <paramref name="args"/> as Parquet and as CSV, reads the Parquet with DuckDB as users do, and checks the
    /// CSV against it: the same columns (its sidecar gives the types DuckDB reports), the same rows, the same values.
    /// </summary>
    private async Task<(DuckRead Duck, JsonElement Exported, JsonElement Sidecar)> ExportBothAsync(string name, string schemaVersion, params string[] args)
    {
        var reader = DuckDbReader();
        var parquet = _temp[name + ".parquet"];
        var csv = _temp[name + ".csv"];
        var exported = JsonDocument.Parse(await SentinelAsync(["features", "export", .. args, "--out", parquet, "--json"])).RootElement;
        await SentinelAsync(["features", "export", .. args, "--out", csv, "--format", "csv"]);

        var (code, stdout, stderr) = await Tools.RunAsync(Tools.Require("node", "Node.js"), ["read.mjs", parquet], workingDirectory: reader);
        Assert.True(code == 0, $"node read.mjs: {stderr}");
        var json = JsonDocument.Parse(stdout).RootElement;
        var duck = new DuckRead(
            json.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList(),
            json.GetProperty("types").EnumerateArray().Select(c => c.GetString()!).ToList(),
            json.GetProperty("rows").EnumerateArray().Select(r => r.EnumerateArray().ToList()).ToList(),
            json.GetProperty("metadata"));
        Assert.Equal(schemaVersion, duck.Metadata.GetProperty("sentinel.schema").GetString());
        Assert.Equal(schemaVersion, exported.GetProperty("schema").GetString());

        var schema = JsonDocument.Parse(await File.ReadAllTextAsync(csv + ".schema.json")).RootElement;
        Assert.Equal(schemaVersion, schema.GetProperty("schema").GetString());
        var declared = schema.GetProperty("columns").EnumerateArray().Select(c => (Name: c.GetProperty("name").GetString()!, Type: c.GetProperty("type").GetString()!)).ToList();
        var lines = await File.ReadAllLinesAsync(csv);
        Assert.Equal(duck.Columns, lines[0].Split(','));
        Assert.Equal(duck.Columns, declared.Select(c => c.Name));
        Assert.Equal(duck.Types, declared.Select(c => c.Type));
        Assert.Equal(duck.Rows.Count, lines.Length - 1);
        Assert.Equal(exported.GetProperty("rows").GetInt32(), duck.Rows.Count);
        for (var r = 0; r < duck.Rows.Count; r++)
        {
            var fields = lines[r + 1].Split(','); // no value here holds a comma
            Assert.Equal(duck.Columns.Count, fields.Length);
            for (var c = 0; c < duck.Columns.Count; c++)
            {
                AssertSame(duck.Types[c], duck.Rows[r][c], fields[c], $"{name} row {r}, {duck.Columns[c]}");
            }
        }

        // The metadata beside the schema version is the same in both.
        foreach (var p in schema.EnumerateObject().Where(p => p.Name is not ("schema" or "columns")))
        {
            Assert.Equal(p.Value.ToString(), duck.Metadata.GetProperty("sentinel." + p.Name).GetString());
        }

        return (duck, exported, schema);
    }

    [SkippableFact]
    public async Task Export_DemoEventsWithAttacks_DuckDbReadsTheParquetAsTheCsvWithTheWindowsTrainingUses()
    {
        DuckDbReader();
        var events = _temp["events.jsonl"];
        await File.WriteAllTextAsync(events, await SentinelAsync("demo-events", "--seconds", "120", "--seed", "1", "--attacks-after", "60"));
        var window = WindowSeconds.ToString(CultureInfo.InvariantCulture);
        var (duck, _, _) = await ExportBothAsync("features", "sentinel.features/v1", events, "--window", window);
        var (columns, types, rows) = (duck.Columns, duck.Types, duck.Rows);
        Assert.Equal(window, duck.Metadata.GetProperty("sentinel.window_seconds").GetString());

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

    [SkippableFact]
    public async Task Export_SequencesAndRuns_DuckDbReadsEachParquetAsItsCsvAndEveryRowIsTheEventsBehindIt()
    {
        DuckDbReader();
        var events = _temp["events.jsonl"];
        await File.WriteAllTextAsync(events, await SentinelAsync("demo-events", "--seconds", "120", "--seed", "1", "--attacks-after", "60"));
        var recorded = Recorded(events);

        // Sequences: every full window of each process's syscalls, in the order the process made them.
        var (seq, exported, sidecar) = await ExportBothAsync("sequences", "sentinel.sequences/v2", events, "--kind", "sequences");
        Assert.Equal("sequences", exported.GetProperty("kind").GetString());
        var w = sidecar.GetProperty("sequence_window").GetInt32();
        Assert.Equal(16, w);
        Assert.Equal(0.25, sidecar.GetProperty("held_back_fraction").GetDouble());
        Assert.Equal(["INTEGER", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "TIMESTAMP", "TIMESTAMP", "VARCHAR", "INTEGER"], new[] { "pid", "container_id", "exe", "call_index", "process_calls", "first_call", "last_call", "calls", "held_back" }.Select(c => seq.Types[seq.Column(c)]));
        var expected = new List<(string Workload, int Pid, string Container, int End, int N, string Calls, DateTime First, DateTime Last, bool HeldBack, bool Attack)>();
        var syscallsPerWorkload = new Dictionary<string, int>();
        foreach (var workload in seq.Rows.Select(r => seq.Text(r, "workload")).Distinct())
        {
            // A process is a container and a pid, as training collects it: replicas reuse pids.
            var calls = recorded.Where(e => e.Kind == "syscall" && Key(e) == workload).GroupBy(e => (e.Parts.GetProperty("container_id").GetString(), e.Pid)).ToList();
            syscallsPerWorkload[workload] = calls.Sum(g => g.Count());
            foreach (var process in calls.Select(g => g.ToList()))
            {
                for (var end = w - 1; end < process.Count; end++)
                {
                    var inside = process.GetRange(end - w + 1, w);
                    expected.Add((workload, process[0].Pid, process[0].Parts.GetProperty("container_id").GetString()!, end, process.Count, string.Join(' ', inside.Select(c => c.Syscall)), inside[0].Time, inside[^1].Time,
                        end >= (int)(process.Count * 0.75), inside.Any(c => c.Scenario?.StartsWith("attack", StringComparison.Ordinal) == true)));
                }
            }
        }

        Assert.Equal(expected.Count, seq.Rows.Count);
        for (var r = 0; r < expected.Count; r++)
        {
            var (row, e) = (seq.Rows[r], expected[r]);
            var where = $"row {r}: {e.Workload} pid {e.Pid} call {e.End}";
            Assert.True(seq.Text(row, "workload") == e.Workload, where);
            Assert.True(row[seq.Column("pid")].GetInt32() == e.Pid, where);
            Assert.True(seq.Text(row, "container_id") == e.Container, where);
            Assert.True(long.Parse(seq.Text(row, "call_index"), CultureInfo.InvariantCulture) == e.End, where);
            Assert.True(long.Parse(seq.Text(row, "process_calls"), CultureInfo.InvariantCulture) == e.N, where);
            Assert.True(seq.Text(row, "calls") == e.Calls, where);
            Assert.True(Time(row[seq.Column("first_call")]) == e.First && Time(row[seq.Column("last_call")]) == e.Last, where);
            Assert.True(row[seq.Column("held_back")].GetInt32() == (e.HeldBack ? 1 : 0), where);
            Assert.True(row[seq.Column("label")].GetInt32() == (e.Attack ? 1 : 0), where);
        }

        Assert.True(expected.Count > 10_000, $"{expected.Count} sequence windows");
        var trained = JsonDocument.Parse(await SentinelAsync("train", events, "--models", _temp["models"], "--window", "2", "--json")).RootElement
            .GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("workload").GetString()!, m => m.GetProperty("syscalls").GetInt32());
        Assert.Equal(trained.Where(t => t.Value > 0).OrderBy(t => t.Key), syscallsPerWorkload.OrderBy(t => t.Key));

        // Runs: the CronJob's pod, counted as the run detector counts it.
        var (runs, _, _) = await ExportBothAsync("runs", "sentinel.runs/v1", events, "--kind", "runs");
        var row0 = Assert.Single(runs.Rows);
        var pod = recorded.Where(e => e.Pod == runs.Text(row0, "run")).ToList();
        Assert.Equal("demo/analytics/CronJob/report-builder/report", runs.Text(row0, "workload"));
        Assert.Equal(pod.Where(e => e.Kind is "net_connect" or "net_flow").Sum(e => e.BytesOut), long.Parse(runs.Text(row0, "bytes_out"), CultureInfo.InvariantCulture));
        Assert.Equal(pod.Count(e => e.Kind == "net_connect"), long.Parse(runs.Text(row0, "connections"), CultureInfo.InvariantCulture));
        Assert.Equal(pod.Count(e => e.Kind == "process_exec"), long.Parse(runs.Text(row0, "execs"), CultureInfo.InvariantCulture));
        Assert.Equal(pod.Min(e => e.Time), Time(row0[runs.Column("run_start")]));
        Assert.Equal(pod.Max(e => e.Time), Time(row0[runs.Column("run_end")]));
        Assert.Equal(0, row0[runs.Column("finished")].GetInt32()); // no later run finished it
        Assert.Equal(pod.Any(e => e.Scenario?.StartsWith("attack", StringComparison.Ordinal) == true) ? 1 : 0, row0[runs.Column("label")].GetInt32());
    }

    [Fact]
    public async Task Export_KafkaTopicRange_SameRowsAsTheFileItWasPublishedFrom()
    {
        // Published to librdkafka's mock cluster (TCP on loopback, in the test process); the CLI, a separate process,
        // reads the partition from offset 0 to its end. One partition: events read from several are merged by time, and
        // events of two workloads at the same instant may then come in another order than the file's, which can change
        // which peer a destination resolves to first (new_destination_ratio) — the same events, not the same bytes.
        using var cluster = new RuntimeSentinel.Kafka.MockKafkaCluster();
        cluster.CreateTopic("recorded", 1);
        var events = _temp["kafka-events.jsonl"];
        await File.WriteAllTextAsync(events, await SentinelAsync("demo-events", "--seconds", "10", "--seed", "5")); // the mock broker keeps 5 MiB a partition
        var lines = await File.ReadAllLinesAsync(events);
        using (var producer = KafkaTestKit.Producer(cluster))
        {
            foreach (var line in lines)
            {
                var pod = JsonDocument.Parse(line).RootElement.GetProperty("workload").GetProperty("pod").GetString()!;
                producer.Produce("recorded", new Confluent.Kafka.Message<byte[]?, byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(pod), Value = System.Text.Encoding.UTF8.GetBytes(line) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        foreach (var kind in new[] { "windows", "sequences" })
        {
            var fromKafka = JsonDocument.Parse(await SentinelAsync("features", "export", "--kafka-topic", "recorded", "--bootstrap-servers", cluster.BootstrapServers, "--kind", kind, "--window", "0.25", "--out", _temp[$"kafka-{kind}.csv"], "--format", "csv", "--json")).RootElement;
            await SentinelAsync("features", "export", events, "--kind", kind, "--window", "0.25", "--out", _temp[$"file-{kind}.csv"], "--format", "csv");

            Assert.Equal(lines.Length, fromKafka.GetProperty("events").GetInt32());
            Assert.True(fromKafka.GetProperty("rows").GetInt32() > 50, $"{kind}: {fromKafka}");
            Assert.Equal(await File.ReadAllTextAsync(_temp[$"file-{kind}.csv"]), await File.ReadAllTextAsync(_temp[$"kafka-{kind}.csv"]));
        }

        // A bounded range exports only what it read.
        var partial = JsonDocument.Parse(await SentinelAsync("features", "export", "--kafka-topic", "recorded", "--bootstrap-servers", cluster.BootstrapServers, "--to-offset", "99", "--out", _temp["partial.csv"], "--format", "csv", "--json")).RootElement;
        Assert.Equal(100, partial.GetProperty("events").GetInt32()); // offsets 0..99
    }

    private sealed record RecordedEvent(string Pod, DateTime Time, string Kind, int Pid, string? Syscall, long BytesOut, string? Scenario, JsonElement Parts);

    /// <summary>Native events as the test reads them, each with the workload key it belongs to.</summary>
    private static List<RecordedEvent> Recorded(string path) => File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement).Select(e => new RecordedEvent(
        e.GetProperty("workload").TryGetProperty("pod", out var pod) ? pod.GetString()! : "",
        DateTimeOffset.Parse(e.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture).UtcDateTime,
        e.GetProperty("kind").GetString()!,
        e.TryGetProperty("process", out var p) && p.TryGetProperty("pid", out var pid) ? pid.GetInt32() : 0,
        e.TryGetProperty("syscall", out var s) ? s.GetProperty("name").GetString() : null,
        e.TryGetProperty("net", out var n) && n.TryGetProperty("bytes_out", out var b) ? b.GetInt64() : 0,
        e.TryGetProperty("labels", out var l) && l.TryGetProperty("scenario", out var sc) ? sc.GetString() : null,
        e.GetProperty("workload"))).ToList();

    /// <summary>The workload key of a demo event: a ReplicaSet's pods are its Deployment's, a Job's pods its CronJob's.</summary>
    private static string Key(RecordedEvent e)
    {
        var w = e.Parts;
        var (kind, owner) = (w.GetProperty("owner_kind").GetString()!, w.GetProperty("owner_name").GetString()!);
        (kind, owner) = kind switch
        {
            "ReplicaSet" => ("Deployment", owner[..owner.LastIndexOf('-')]),
            "Job" => ("CronJob", owner[..owner.LastIndexOf('-')]),
            _ => (kind, owner),
        };
        return $"{w.GetProperty("cluster").GetString()}/{w.GetProperty("namespace").GetString()}/{kind}/{owner}/{w.GetProperty("container").GetString()}";
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
