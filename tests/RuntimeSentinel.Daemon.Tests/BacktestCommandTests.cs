using System.Globalization;
using System.Text.Json;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// <c>sentinel models backtest</c> on the corpus: the candidate v2 (trained on the hour before the attacks) against the
/// promoted v1 (trained on the learning half hour) for the API workload. Every count in the output is recomputed here
/// from the alerts it lists, labels.json and the version folders' cards.
/// </summary>
[Collection(BacktestCorpusCollection.Name)]
public sealed class BacktestCommandTests(BacktestCorpus corpus)
{
    [Fact]
    public async Task Backtest_CandidateAgainstPromotedOnTheCorpus_CountsFollowFromAlertsLabelsAndCards()
    {
        var json = await BacktestCorpus.SentinelAsync(["models", "backtest", BacktestCorpus.Api, "--candidate", "v2", .. corpus.Files, "--labels", corpus.Labels, "--models", corpus.Models, "--json"]);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(BacktestCorpus.Api, root.GetProperty("workload").GetString());

        // The attacks of the workload (its own or one it acts on), from the labels file.
        using var labels = JsonDocument.Parse(await File.ReadAllTextAsync(corpus.Labels));
        var attacks = labels.RootElement.GetProperty("scenarios").EnumerateArray()
            .Where(s => s.GetProperty("kind").GetString()!.StartsWith("attack", StringComparison.Ordinal))
            .Where(s => s.GetProperty("workload").GetString() == "shop/Deployment/api" || s.GetProperty("related_workloads").EnumerateArray().Any(r => r.GetString() == "shop/Deployment/api"))
            .Select(s => (Scenario: s.GetProperty("scenario").GetString()!, Start: Time(s.GetProperty("start")), End: Time(s.GetProperty("end"))))
            .ToList();
        Assert.True(attacks.Count >= 3, "the corpus has several attacks on the API");

        var thresholds = new Dictionary<string, Dictionary<string, double>>();
        foreach (var (side, version, promoted) in new[] { ("candidate", "v2", false), ("against", "v1", true) })
        {
            var s = root.GetProperty(side);
            Assert.Equal(version, s.GetProperty("version").GetString());
            Assert.Equal(promoted, s.GetProperty("promoted").GetBoolean());
            Assert.True(s.GetProperty("windows_scored").GetInt32() > 100);

            // Each version alerts at its own calibrated thresholds, as its card states them.
            var card = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(corpus.Models, "local~shop~Deployment~api~api", version, "model.json"))).RootElement.GetProperty("thresholds");
            thresholds[version] = card.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            var alerts = s.GetProperty("alerts").EnumerateArray().Select(a => (Time: Time(a.GetProperty("time")), Detector: a.GetProperty("detector").GetString()!, Score: a.GetProperty("score").GetDouble(), Threshold: a.GetProperty("threshold").GetDouble(), Attack: a.GetProperty("attack").GetString())).ToList();
            Assert.NotEmpty(alerts);
            Assert.All(alerts, a =>
            {
                Assert.Equal(thresholds[version][a.Detector], a.Threshold, 9);
                Assert.True(a.Score > a.Threshold);
            });

            // Caught, missed, latency and false alerts from the listed alerts and the labels: an alert answers an attack
            // from 5 s before its start to 2 minutes after its end.
            bool Answers(DateTimeOffset t, (string Scenario, DateTimeOffset Start, DateTimeOffset End) l) => t >= l.Start.AddSeconds(-5) && t <= l.End.AddMinutes(2);
            var listed = s.GetProperty("attacks").EnumerateArray().ToList();
            Assert.Equal(attacks.Select(a => a.Scenario).Order(), listed.Select(a => a.GetProperty("scenario").GetString()!).Order());
            foreach (var l in attacks)
            {
                var entry = listed.Single(a => a.GetProperty("scenario").GetString() == l.Scenario);
                var answering = alerts.Where(a => Answers(a.Time, l)).ToList();
                Assert.Equal(answering.Count > 0, entry.GetProperty("caught").GetBoolean());
                Assert.Equal(answering.Count, entry.GetProperty("alerts").GetInt32());
                if (answering.Count > 0)
                {
                    Assert.Equal(Math.Max(0, (answering.Min(a => a.Time) - l.Start).TotalSeconds), entry.GetProperty("seconds_to_first_alert").GetDouble(), 3);
                }
            }

            var caught = attacks.Count(l => alerts.Any(a => Answers(a.Time, l)));
            Assert.Equal(caught, s.GetProperty("caught").GetInt32());
            Assert.Equal(attacks.Count - caught, s.GetProperty("missed").GetInt32());
            Assert.Equal(alerts.Count(a => !attacks.Any(l => Answers(a.Time, l))), s.GetProperty("false_alerts").GetInt32());
            Assert.All(alerts, a => Assert.Equal(attacks.FirstOrDefault(l => Answers(a.Time, l)).Scenario, a.Attack));
            Assert.True(caught > 0, $"{version} catches some attack on the API");
        }

        // The two versions were calibrated on different data: the comparison is between two different sets of thresholds.
        Assert.Contains(thresholds["v1"], t => thresholds["v2"].TryGetValue(t.Key, out var other) && Math.Abs(other - t.Value) > 1e-6);
    }

    [Fact]
    public async Task Backtest_TextOutput_TableNamesBothVersionsAndEachAttack()
    {
        var text = await BacktestCorpus.SentinelAsync(["models", "backtest", "shop/Deployment/api", "--candidate", "v2", "--against", "v1", .. corpus.Files, "--labels", corpus.Labels, "--models", corpus.Models]);
        Assert.Contains("candidate v2", text, StringComparison.Ordinal);
        Assert.Contains("against v1 (promoted)", text, StringComparison.Ordinal);
        Assert.Contains("attacks caught", text, StringComparison.Ordinal);
        Assert.Contains("reverse-shell-api", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such/workload", "v2", "promoted", "no model versions of workload 'no-such/workload'")]
    [InlineData(BacktestCorpus.Api, "v9", "promoted", "has no version 'v9' (versions: v1 (promoted), v2)")]
    [InlineData(BacktestCorpus.Api, "v2", "v7", "has no version 'v7'")]
    [InlineData(BacktestCorpus.Api, "v1", "promoted", "--candidate and --against are both v1")]
    public async Task Backtest_UnknownWorkloadOrVersion_Exit2WithTheReason(string workload, string candidate, string against, string message)
    {
        var (code, _, stderr) = await BacktestCorpus.RunAsync(["models", "backtest", workload, "--candidate", candidate, "--against", against, .. corpus.Files, "--models", corpus.Models]);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backtest_NoPromotedVersion_Exit2SayingSo()
    {
        // A copy of the API's versions without its PROMOTED file.
        var models = corpus.Temp("unpromoted");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(corpus.Models, "local~shop~Deployment~api~api"), "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "PROMOTED"))
        {
            var target = Path.Combine(models, Path.GetRelativePath(corpus.Models, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        var (code, _, stderr) = await BacktestCorpus.RunAsync(["models", "backtest", BacktestCorpus.Api, "--candidate", "v2", .. corpus.Files, "--models", models]);
        Assert.Equal(2, code);
        Assert.Contains("has no promoted version (versions: v1, v2)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backtest_MissingFileOrBrokenLabels_Exit2NamingIt()
    {
        var missing = corpus.Temp("absent.jsonl");
        var (code, _, stderr) = await BacktestCorpus.RunAsync("models", "backtest", BacktestCorpus.Api, "--candidate", "v2", missing, "--models", corpus.Models);
        Assert.Equal(2, code);
        Assert.Contains("no such file: " + missing, stderr, StringComparison.Ordinal);

        var broken = corpus.Temp("broken-labels.json");
        await File.WriteAllTextAsync(broken, "{\"scenarios\": [{\"scenario\": 3");
        (code, _, stderr) = await BacktestCorpus.RunAsync("models", "backtest", BacktestCorpus.Api, "--candidate", "v2", corpus.Files[2], "--labels", broken, "--models", corpus.Models);
        Assert.Equal(2, code);
        Assert.Contains("cannot read labels " + broken, stderr, StringComparison.Ordinal);
    }

    private static DateTimeOffset Time(JsonElement e) => DateTimeOffset.Parse(e.GetString()!, CultureInfo.InvariantCulture);
}
