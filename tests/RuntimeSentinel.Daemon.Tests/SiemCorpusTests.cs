using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.TestCommon;
using RuntimeSentinel.TestCommon.Siem;
using Xunit.Abstractions;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The labelled corpora run through the real pipeline (<c>evaluate stream</c>, as CI runs seed 7 of the shop shape) with
/// their incidents written in each schema (<c>--incidents-schema</c>, the JSON sinks' renderer). Every OCSF document
/// is checked against Detection Finding resolved from the OCSF source itself, every ECS document against the field
/// table of <c>@elastic/ecs</c>; and each document is checked against the same emission in <c>sentinel.alert/v2</c>
/// (the runs are deterministic: the n-th emission is the same one in every schema).
/// </summary>
public sealed class SiemCorpusTests(SiemCorpusTests.Runs runs, ITestOutputHelper output) : IClassFixture<SiemCorpusTests.Runs>
{
    [SkippableTheory]
    [InlineData("shop", 7)]
    [InlineData("cluster", 7)]
    public async Task EvaluateStream_CorpusAsOcsf_EveryEmissionIsAValidDetectionFindingOfItsIncident(string shape, int seed)
    {
        var schema = SharedSchemas.RequireOcsf();
        var sentinel = await runs.GetAsync(shape, seed, "sentinel");
        var ocsf = await runs.GetAsync(shape, seed, "ocsf");
        Assert.True(ocsf.Count > 10, $"{ocsf.Count} emissions");
        Assert.Equal(sentinel.Count, ocsf.Count);

        var validator = new OcsfValidator(schema);
        var errors = new List<string>();
        SortedSet<string>? missing = null;
        var firstVersion = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var n = 0; n < ocsf.Count; n++)
        {
            var doc = ocsf[n].RootElement;
            var report = validator.Validate(doc, "detection_finding");
            errors.AddRange(report.Errors.Select(e => $"#{n}: {e}"));
            // Recommended attributes left out of every document (not a failure: what a reviewer may want us to add).
            missing ??= new SortedSet<string>(report.MissingRecommended, StringComparer.Ordinal);
            missing.IntersectWith(report.MissingRecommended);

            // The same emission in our own schema: lifecycle, counts, times, severity and categories agree.
            var v2 = sentinel[n].RootElement;
            var status = v2.GetProperty("status").GetString();
            Assert.Equal(status switch { "firing" => 1, "updated" => 2, _ => 3 }, doc.GetProperty("activity_id").GetInt32());
            Assert.Equal(200400 + doc.GetProperty("activity_id").GetInt32(), doc.GetProperty("type_uid").GetInt32());
            Assert.Equal(v2.GetProperty("version").GetInt32(), doc.GetProperty("metadata").GetProperty("sequence").GetInt32());
            Assert.Equal(v2.GetProperty("count").GetInt64(), doc.GetProperty("count").GetInt64());
            Assert.Equal(Ms(v2.GetProperty("first_seen")), doc.GetProperty("time").GetInt64());
            Assert.Equal(Ms(v2.GetProperty("last_seen")), doc.GetProperty("finding_info").GetProperty("last_seen_time").GetInt64());
            Assert.Equal(Array.IndexOf(["info", "low", "medium", "high", "critical"], v2.GetProperty("severity").GetString()) + 1, doc.GetProperty("severity_id").GetInt32());
            Assert.Equal(Strings(v2.GetProperty("categories")), Strings(doc.GetProperty("finding_info").GetProperty("types")));
            Assert.Equal(v2.GetProperty("detector").GetString(), doc.GetProperty("finding_info").GetProperty("analytic").GetProperty("name").GetString());
            Assert.Equal(schema.Version, doc.GetProperty("metadata").GetProperty("version").GetString());
            if (v2.TryGetProperty("mitre", out var mitre))
            {
                var attack = doc.GetProperty("finding_info").GetProperty("attacks")[0];
                var technique = mitre.GetProperty("technique").GetString()!;
                Assert.Equal(technique, attack.TryGetProperty("sub_technique", out var sub) ? sub.GetProperty("uid").GetString() : attack.GetProperty("technique").GetProperty("uid").GetString());
                Assert.Equal(mitre.GetProperty("tactic").GetString(), attack.GetProperty("tactic").GetProperty("name").GetString());
            }

            // One finding per incident: its first record creates it, later ones update it, in order.
            var uid = doc.GetProperty("finding_info").GetProperty("uid").GetString()!;
            var version = doc.GetProperty("metadata").GetProperty("sequence").GetInt32();
            Assert.Equal(firstVersion.TryAdd(uid, version) ? 1 : version, version == 1 ? 1 : version);
            Assert.Equal(version == 1, doc.GetProperty("activity_id").GetInt32() == 1);
        }

        var activities = ocsf.GroupBy(d => d.RootElement.GetProperty("activity_name").GetString()).Select(g => $"{g.Key} {g.Count()}");
        output.WriteLine($"{shape} seed {seed}: {ocsf.Count} OCSF Detection Findings checked ({string.Join(", ", activities)}), {firstVersion.Count} findings, {errors.Count} errors");
        output.WriteLine($"recommended attributes left out of every document: {string.Join(", ", missing ?? [])}");
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));
    }

    [SkippableTheory]
    [InlineData("shop", 7)]
    [InlineData("cluster", 7)]
    public async Task EvaluateStream_CorpusAsEcs_EveryFieldIsAnEcsFieldOfItsType(string shape, int seed)
    {
        var schema = await SharedSchemas.RequireEcsAsync();
        var sentinel = await runs.GetAsync(shape, seed, "sentinel");
        var ecs = await runs.GetAsync(shape, seed, "ecs");
        Assert.True(ecs.Count > 10, $"{ecs.Count} emissions");
        Assert.Equal(sentinel.Count, ecs.Count);

        var validator = new EcsValidator(schema, "runtime_sentinel");
        var errors = new List<string>();
        var fields = new SortedSet<string>(StringComparer.Ordinal);
        for (var n = 0; n < ecs.Count; n++)
        {
            var doc = ecs[n].RootElement;
            errors.AddRange(validator.Validate(doc).Errors.Select(e => $"#{n}: {e}"));
            Flatten(doc, "", fields);
            var v2 = sentinel[n].RootElement;
            Assert.Equal("alert", doc.GetProperty("event").GetProperty("kind").GetString());
            Assert.Equal(schema.Version, doc.GetProperty("ecs").GetProperty("version").GetString());
            Assert.Equal(v2.GetProperty("status").GetString(), doc.GetProperty("runtime_sentinel").GetProperty("incident").GetProperty("status").GetString());
            Assert.Equal(v2.GetProperty("workload").GetProperty("key").GetString(), doc.GetProperty("runtime_sentinel").GetProperty("workload").GetProperty("key").GetString());
            Assert.Equal(v2.GetProperty("category").GetString(), doc.GetProperty("rule").GetProperty("name").GetString());
            Assert.Equal(Ms(v2.GetProperty("last_seen")), Ms(doc.GetProperty("@timestamp")));
            if (v2.TryGetProperty("mitre", out var mitre))
            {
                var threat = doc.GetProperty("threat");
                var technique = mitre.GetProperty("technique").GetString()!;
                var ids = threat.GetProperty("technique").TryGetProperty("subtechnique", out var sub) ? Strings(sub.GetProperty("id")).Concat(Strings(threat.GetProperty("technique").GetProperty("id"))) : Strings(threat.GetProperty("technique").GetProperty("id"));
                Assert.Contains(technique, ids);
            }
        }

        output.WriteLine($"{shape} seed {seed}: {ecs.Count} ECS documents checked against ECS {schema.Version}, {errors.Count} errors");
        output.WriteLine($"ECS fields emitted: {string.Join(", ", fields)}");
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));
    }

    /// <summary>
    /// The daemon itself configured for a SIEM (<c>Alerting:Schema=ocsf</c>), replaying the corpus through the embedded
    /// Kafka: its file sink writes Detection Findings the validator accepts, and every finding that opened is closed
    /// once its incident window ends (activity Close), as a SIEM needs to settle it.
    /// </summary>
    [SkippableFact]
    public async Task Replay_DaemonWithAlertingSchemaOcsf_FileSinkWritesValidFindingsThatClose()
    {
        var schema = SharedSchemas.RequireOcsf();
        var dir = await runs.CorpusDirAsync("shop", 7);
        var file = Path.Combine(dir, "replay-ocsf.jsonl");
        using (var p = new SentinelProcess(new Dictionary<string, string> { ["SENTINEL_Alerting__Schema"] = "ocsf" }, "replay", Path.Combine(dir, "tetragon.jsonl"), Path.Combine(dir, "hubble.jsonl"), Path.Combine(dir, "falco.jsonl"), "--labels", Path.Combine(dir, "labels.json"), "--json", "--alerts-file", file, "--listen", "127.0.0.1:0"))
        {
            await p.AssertExitsWithAsync(0, TimeSpan.FromMinutes(5));
        }

        var docs = (await File.ReadAllLinesAsync(file)).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var validator = new OcsfValidator(schema);
        var errors = docs.SelectMany((d, n) => validator.Validate(d, "detection_finding").Errors.Select(e => $"#{n}: {e}")).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));

        var activities = docs.GroupBy(d => d.GetProperty("finding_info").GetProperty("uid").GetString()!).ToDictionary(g => g.Key, g => g.Select(d => d.GetProperty("activity_id").GetInt32()).ToList());
        output.WriteLine($"{docs.Count} documents, {activities.Count} findings, {activities.Values.Count(a => a[^1] == 3)} closed");
        Assert.True(activities.Count > 10, $"{activities.Count} findings");
        Assert.All(activities.Values, a => Assert.Equal(1, a[0]));
        Assert.All(activities.Values, a => Assert.True(!a.Contains(3) || a.IndexOf(3) == a.Count - 1, "nothing after a Close"));
        Assert.True(activities.Values.Count(a => a[^1] == 3) >= activities.Count / 2, "findings whose window ended are closed");
    }

    private static long Ms(JsonElement iso) => DateTimeOffset.Parse(iso.GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    private static void Flatten(JsonElement e, string path, SortedSet<string> into)
    {
        if (e.ValueKind == JsonValueKind.Object && path != "runtime_sentinel")
        {
            foreach (var p in e.EnumerateObject())
            {
                Flatten(p.Value, path.Length == 0 ? p.Name : $"{path}.{p.Name}", into);
            }
        }
        else if (path != "runtime_sentinel")
        {
            into.Add(path);
        }
    }

    /// <summary>Each corpus generated once, and evaluated once per schema, for the whole class.</summary>
    public sealed class Runs : IDisposable
    {
        private readonly TempFolder _temp = new("siem-corpus-");
        private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _corpora = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Lazy<Task<List<JsonDocument>>>> _incidents = new(StringComparer.Ordinal);

        /// <summary>The corpus's folder (generated once).</summary>
        public Task<string> CorpusDirAsync(string shape, int seed) =>
            _corpora.GetOrAdd($"{shape}-{seed}", _ => new Lazy<Task<string>>(() => CorpusAsync(shape, seed))).Value;

        public Task<List<JsonDocument>> GetAsync(string shape, int seed, string schema) =>
            _incidents.GetOrAdd($"{shape}-{seed}-{schema}", _ => new Lazy<Task<List<JsonDocument>>>(() => EvaluateAsync(shape, seed, schema))).Value;

        private async Task<List<JsonDocument>> EvaluateAsync(string shape, int seed, string schema)
        {
            var dir = await _corpora.GetOrAdd($"{shape}-{seed}", _ => new Lazy<Task<string>>(() => CorpusAsync(shape, seed))).Value;
            var file = Path.Combine(dir, $"incidents-{schema}.jsonl");
            await RunAsync("evaluate", "stream", Path.Combine(dir, "tetragon.jsonl"), Path.Combine(dir, "hubble.jsonl"), Path.Combine(dir, "falco.jsonl"),
                "--labels", Path.Combine(dir, "labels.json"), "--incidents", file, "--incidents-schema", schema);
            return (await File.ReadAllLinesAsync(file)).Select(l => JsonDocument.Parse(l)).ToList();
        }

        private async Task<string> CorpusAsync(string shape, int seed)
        {
            var dir = Path.Combine(_temp.Path, $"{shape}-{seed}");
            await RunAsync("corpus", "--shape", shape, "--out", dir, "--seed", seed.ToString(CultureInfo.InvariantCulture));
            return dir;
        }

        private static async Task RunAsync(params string[] args)
        {
            using var p = new SentinelProcess(args);
            await p.AssertExitsWithAsync(0, TimeSpan.FromMinutes(5));
        }

        public void Dispose()
        {
            foreach (var docs in _incidents.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully).SelectMany(l => l.Value.Result))
            {
                docs.Dispose();
            }

            _temp.Dispose();
        }
    }
}
