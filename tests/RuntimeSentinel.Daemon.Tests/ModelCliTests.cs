using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

public sealed class ModelCliTests : IDisposable
{
    private readonly TempFolder _temp = new("model-cli-");

    public void Dispose() => _temp.Dispose();

    private async Task<string> RunAsync(string file, params string[] args)
    {
        using var p = new SentinelProcess(args);
        Assert.True(0 == await p.WaitForExitAsync(TimeSpan.FromSeconds(120)), $"sentinel {string.Join(' ', args)}: {p.Stderr}");
        if (file.Length > 0)
        {
            await File.WriteAllTextAsync(Path.Combine(_temp.Path, file), p.Stdout);
        }

        return p.Stdout;
    }

    [Fact]
    public async Task TrainPromoteScoreEvaluate_DemoEvents_CalibratedModelsCatchAttacksWithoutFalseAlarms()
    {
        var models = Path.Combine(_temp.Path, "models");
        var train = Path.Combine(_temp.Path, "train.jsonl");
        var test = Path.Combine(_temp.Path, "test.jsonl");
        await RunAsync("train.jsonl", "demo-events", "--seconds", "600", "--seed", "1");
        await RunAsync("test.jsonl", "demo-events", "--seconds", "240", "--seed", "2", "--start", "2026-01-02T00:00:00Z", "--attacks-after", "60");

        var trained = JsonDocument.Parse(await RunAsync("", "train", train, "--models", models, "--window", "2", "--json")).RootElement;
        var list = trained.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(3, list.Count);
        Assert.All(list, m =>
        {
            Assert.True(m.GetProperty("trained").GetBoolean());
            Assert.Equal("v1", m.GetProperty("version").GetString());
            Assert.True(m.GetProperty("thresholds").GetProperty("behaviour_pca").GetDouble() > 0);
            Assert.True(m.GetProperty("thresholds").GetProperty("sequence").GetDouble() > 0);
        });

        // Nothing promoted yet: scoring refuses; list shows the versions unmarked.
        using (var refused = new SentinelProcess("score", test, "--models", models))
        {
            Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("no promoted", refused.Stderr, StringComparison.Ordinal);
        }

        var workload = "demo/shop/StatefulSet/postgres/postgres";
        foreach (var m in list)
        {
            await RunAsync("", "models", "promote", m.GetProperty("workload").GetString()!, "v1", "--models", models);
        }

        var listed = JsonDocument.Parse(await RunAsync("", "models", "list", "--models", models, "--json")).RootElement;
        Assert.All(listed.EnumerateArray(), m => Assert.True(m.GetProperty("promoted").GetBoolean()));
        var card = JsonDocument.Parse(await RunAsync("", "models", "show", workload, "--models", models, "--json")).RootElement;
        Assert.Equal("sentinel.model/v1", card.GetProperty("schema").GetString());
        Assert.Equal(2, card.GetProperty("window_seconds").GetDouble());
        Assert.True(card.GetProperty("evaluation").GetProperty("behaviour_pca").GetProperty("scores").GetInt32() >= 250);
        var shown = await RunAsync("", "models", "show", workload, "--models", models);
        Assert.Matches(@"in service: about \d+ KiB of the model memory budget \(\d+ KiB of it sequence tables\), plus \d+ bytes per process", shown);

        // Window-level evaluation on labelled events: attacks every 10 s after the first minute. The models separate
        // the attack windows from the normal ones (AUC 1, every attack caught at 1 % false positives today); a scorer
        // giving random scores lands near 0.5 (±0.07 on these 18 against 339 windows), an inverted one near 0.
        var evaluation = await RunAsync("", "evaluate", "events", test, "--models", models, "--json");
        var eval = JsonDocument.Parse(evaluation).RootElement;
        Assert.True(eval.GetProperty("attack").GetInt32() >= 10, eval.ToString());
        Assert.True(eval.GetProperty("normal").GetInt32() >= 200, eval.ToString());
        Assert.True(eval.GetProperty("auc").GetDouble() >= 0.95, eval.ToString());
        Assert.True(eval.GetProperty("dr_at_1_fpr").GetDouble() >= 0.9, eval.ToString());
        Assert.True(eval.GetProperty("dr_at_5_fpr").GetDouble() >= eval.GetProperty("dr_at_1_fpr").GetDouble(), eval.ToString());
        Assert.True(eval.GetProperty("dr_at_10_fpr").GetDouble() >= eval.GetProperty("dr_at_5_fpr").GetDouble(), eval.ToString());
        Assert.True(eval.GetProperty("fpr_at_90_dr").GetDouble() <= 0.05, eval.ToString());

        // Deterministic: the same models on the same events give the same figures, with or without a report, which
        // shows them again beside its plots.
        var report = Path.Combine(_temp.Path, "report");
        Assert.Equal(evaluation, await RunAsync("", "evaluate", "events", test, "--models", models, "--json", "--report", report));
        Assert.Equal(["alerts.png", "index.html", "pr.png", "roc.png", "scores-1.png"], Directory.GetFiles(report).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.Contains($"<tr><td>auc</td><td>{eval.GetProperty("auc").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture)}</td></tr>", await File.ReadAllTextAsync(Path.Combine(report, "index.html")), StringComparison.Ordinal);

        var confusion = eval.GetProperty("confusion_at_calibrated_threshold");
        Assert.Equal(0, confusion.GetProperty("fp").GetInt32());
        Assert.True(confusion.GetProperty("tp").GetInt32() >= eval.GetProperty("attack").GetInt32() * 2 / 3, eval.ToString());

        // Offline scoring: every finding falls in an attack window and names detector, threshold and features.
        var findings = (await RunAsync("", "score", test, "--models", models, "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(findings);
        Assert.All(findings, f =>
        {
            Assert.True(f.GetProperty("score").GetDouble() > f.GetProperty("threshold").GetDouble());
            Assert.True(f.GetProperty("time").GetDateTimeOffset() >= new DateTimeOffset(2026, 1, 2, 0, 1, 0, TimeSpan.Zero));
            Assert.NotEqual(0, f.GetProperty("top_features").GetArrayLength());
            Assert.Equal(1, f.GetProperty("top_features").EnumerateArray().Sum(c => c.GetProperty("share").GetDouble()), 6);
        });
        Assert.Contains(findings, f => f.GetProperty("detectors").EnumerateArray().Any(d => d.GetProperty("detector").GetString() == "spike:cpu_cores"));
        Assert.Contains(findings, f => f.GetProperty("category").GetString() == "behaviour_anomaly" && f.GetProperty("workload").GetString() == workload);
    }

    [Fact]
    public async Task Train_KafkaTopicRange_ReadsThatRangeOverTcpAndRecordsItInTheCard()
    {
        // Events are published to a real Kafka-protocol broker (librdkafka's mock cluster, TCP on loopback) in the
        // test process; the CLI, a separate process, reads offsets 0..N of every partition.
        using var cluster = new RuntimeSentinel.Kafka.MockKafkaCluster();
        cluster.CreateTopic("recorded", 6);
        // 15 s of events: the mock broker keeps at most 5 MiB per partition, and the whole range must still be there.
        await RunAsync("events.jsonl", "demo-events", "--seconds", "15", "--seed", "4");
        var lines = await File.ReadAllLinesAsync(Path.Combine(_temp.Path, "events.jsonl"));
        using (var producer = KafkaTestKit.Producer(cluster))
        {
            foreach (var line in lines)
            {
                // Keyed by workload so each workload's events stay in order within one partition.
                var owner = JsonDocument.Parse(line).RootElement.GetProperty("workload").GetProperty("pod").GetString()!;
                producer.Produce("recorded", new Confluent.Kafka.Message<byte[]?, byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(owner), Value = System.Text.Encoding.UTF8.GetBytes(line) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var models = Path.Combine(_temp.Path, "models");
        var trained = JsonDocument.Parse(await RunAsync("", "train", "--kafka-topic", "recorded", "--bootstrap-servers", cluster.BootstrapServers, "--models", models, "--window", "0.25", "--json")).RootElement;
        Assert.Equal(lines.Length, trained.GetProperty("events").GetInt32());
        Assert.Equal(3, trained.GetProperty("models").GetArrayLength());
        var card = JsonDocument.Parse(await File.ReadAllTextAsync(Directory.GetFiles(models, "model.json", SearchOption.AllDirectories).First())).RootElement;
        Assert.Equal("kafka:recorded[0..end]", card.GetProperty("training").GetProperty("source").GetString());

        // A bounded range reads only up to that offset of each partition.
        var partial = JsonDocument.Parse(await RunAsync("", "train", "--kafka-topic", "recorded", "--bootstrap-servers", cluster.BootstrapServers, "--to-offset", "999", "--models", Path.Combine(_temp.Path, "partial"), "--window", "0.25", "--json")).RootElement;
        Assert.InRange(partial.GetProperty("events").GetInt32(), 1000, 6000); // offsets 0..999 of each partition holding data
        Assert.True(partial.GetProperty("events").GetInt32() < lines.Length);
    }

    [Fact]
    public async Task Promote_MismatchedFingerprint_RefusedWithReason()
    {
        var models = Path.Combine(_temp.Path, "models");
        var train = Path.Combine(_temp.Path, "train.jsonl");
        await RunAsync("train.jsonl", "demo-events", "--seconds", "300", "--seed", "3");
        await RunAsync("", "train", train, "--models", models, "--window", "2");
        var card = Directory.GetFiles(models, "model.json", SearchOption.AllDirectories).First();
        var json = await File.ReadAllTextAsync(card);
        var fingerprint = JsonDocument.Parse(json).RootElement.GetProperty("fingerprint").GetString()!;
        await File.WriteAllTextAsync(card, json.Replace(fingerprint, "0000000000000000", StringComparison.Ordinal));
        var workload = JsonDocument.Parse(json).RootElement.GetProperty("workload").GetString()!;
        using var p = new SentinelProcess("models", "promote", workload, "v1", "--models", models);
        Assert.Equal(1, await p.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("promote refused", p.Stderr, StringComparison.Ordinal);
        Assert.Contains("fingerprint 0000000000000000 does not match", p.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsDiff_TwoVersionsTrainedOnDifferentData_ItemsThresholdsAndTrainingAsTheirFilesSay()
    {
        var models = Path.Combine(_temp.Path, "models");
        var shortRun = Path.Combine(_temp.Path, "short.jsonl");
        var longRun = Path.Combine(_temp.Path, "long.jsonl");
        await RunAsync("short.jsonl", "demo-events", "--seconds", "120", "--seed", "1");
        // The longer run has attacks in it, so the version trained on it learned items the first never saw.
        await RunAsync("long.jsonl", "demo-events", "--seconds", "600", "--seed", "3", "--attacks-after", "300");
        await RunAsync("", "train", shortRun, "--models", models, "--window", "2");
        await RunAsync("", "train", longRun, "--models", models, "--window", "2");
        var dir = Directory.GetDirectories(models).Order(StringComparer.Ordinal).First();
        var workload = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "v1", "model.json"))).RootElement.GetProperty("workload").GetString()!;

        var diff = JsonDocument.Parse(await RunAsync("", "models", "diff", workload, "v1", "v2", "--models", models, "--json")).RootElement;
        Assert.Equal("v1", diff.GetProperty("a").GetProperty("version").GetString());
        Assert.Equal("v2", diff.GetProperty("b").GetProperty("version").GetString());
        Assert.NotEqual(diff.GetProperty("a").GetProperty("data_sha256").GetString(), diff.GetProperty("b").GetProperty("data_sha256").GetString());

        // Items: what each version's known-items file lists, split into added, removed and kept.
        HashSet<string> Known(string v, string kind) =>
            JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, v, "known-items.json"))).RootElement.TryGetProperty(kind, out var a)
                ? a.EnumerateArray().Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal) : [];
        foreach (var item in diff.GetProperty("items").EnumerateArray())
        {
            var kind = item.GetProperty("kind").GetString()!;
            var (a, b) = (Known("v1", kind), Known("v2", kind));
            Assert.Equal(b.Except(a).Order(StringComparer.Ordinal), item.GetProperty("added").EnumerateArray().Select(x => x.GetString()!));
            Assert.Equal(a.Except(b).Order(StringComparer.Ordinal), item.GetProperty("removed").EnumerateArray().Select(x => x.GetString()!));
            Assert.Equal(a.Intersect(b).Count(), item.GetProperty("kept").GetInt32());
        }

        Assert.Contains(diff.GetProperty("items").EnumerateArray(), i => i.GetProperty("added").GetArrayLength() > 0);

        // Thresholds: each version's card.
        double Threshold(string v, string detector) =>
            JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, v, "model.json"))).RootElement.GetProperty("thresholds").GetProperty(detector).GetDouble();
        var detectors = diff.GetProperty("detectors").EnumerateArray().ToList();
        Assert.Contains(detectors, d => d.GetProperty("detector").GetString() == "behaviour_pca");
        Assert.All(detectors, d => Assert.Equal(Threshold("v2", d.GetProperty("detector").GetString()!), d.GetProperty("threshold_b").GetDouble()));

        var text = await RunAsync("", "models", "diff", workload, "v1", "v2", "--models", models);
        Assert.Contains($"{workload}: v1 → v2", text, StringComparison.Ordinal);
        Assert.Contains("different data", text, StringComparison.Ordinal);

        using var missing = new SentinelProcess("models", "diff", workload, "v1", "v9", "--models", models);
        Assert.Equal(1, await missing.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("no version v9", missing.Stderr, StringComparison.Ordinal);
    }
}
