using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Prometheus;
using RuntimeSentinel.Alerting;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Formats;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>
/// No byte sequence can make a decoder throw. Over 100,000 mutated and random messages built from real sensor
/// samples go through every event decoder and the Kafka deserializer; verdicts through the feedback parser; rule files
/// through the suppression parser. Every rejection must carry a reason code and a reason.
/// </summary>
public sealed class HostileInputFuzzTests(ITestOutputHelper output)
{
    private const int Messages = 100_000;

    private static List<byte[]> RealSeeds()
    {
        var root = Datasets.Require("tool-samples", "tool-samples");
        var seeds = new List<byte[]>();
        foreach (var file in Directory.EnumerateFiles(root, "*.json*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.TrimStart().StartsWith('{'))
                {
                    seeds.Add(Encoding.UTF8.GetBytes(line));
                }
            }
        }

        // Our own schema, every kind.
        seeds.AddRange([
            Some.Json(Some.Exec("/bin/sh")), Some.Json(Some.FileOpen("/etc/passwd")), Some.Json(Some.Syscall("read")),
            Some.Json(Some.Connect("10.0.0.9", 5432)), Some.Json(Some.Dns("db.svc")), Some.Json(Some.Listen(8080)),
            Some.Json(Some.Resource(0.5, 1 << 20)),
        ]);
        return seeds;
    }

    [SkippableFact]
    public void Decoders_OverHundredThousandHostileMessages_NeverThrowAndEveryRejectionHasAReason()
    {
        var seeds = RealSeeds();
        Assert.True(seeds.Count > 100, $"only {seeds.Count} seed messages");
        var formats = EventFormats.Names.Select(EventFormats.Create).ToList();
        var deserializer = new EventDeserializer(topic => topic, deadLetterMaxBytes: 4096);
        var inputs = new HostileInputs(20261201);
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var escaped = new List<string>();
        var unexplained = new List<string>();
        var codes = DecodeError.AllCodeNames.ToHashSet(StringComparer.Ordinal);

        void Check(string kind, byte[] message)
        {
            foreach (var format in formats)
            {
                try
                {
                    var status = format.Decode(message, out _, out var error, out var note);
                    var key = $"{format.Name}/{status}" + (status == DecodeStatus.Rejected ? "/" + error.CodeName : "");
                    outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                    if (status == DecodeStatus.Rejected && (!codes.Contains(error.CodeName) || string.IsNullOrWhiteSpace(error.Detail)))
                    {
                        unexplained.Add($"{format.Name} {kind}: {error}");
                    }

                    if (status == DecodeStatus.Ignored && string.IsNullOrWhiteSpace(note))
                    {
                        unexplained.Add($"{format.Name} {kind}: ignored without a note");
                    }
                }
                catch (Exception ex)
                {
                    escaped.Add($"{format.Name} {kind}: {ex.GetType().Name}: {ex.Message} <- {Preview(message)}");
                }
            }

            // The Kafka path: the deserializer librdkafka calls, for an auto topic and a strict one.
            foreach (var topic in new[] { "auto", "tetragon" })
            {
                try
                {
                    var d = deserializer.Deserialize(message, isNull: false, new SerializationContext(MessageComponentType.Value, topic));
                    if (d.Status == DecodeStatus.Rejected && (d.Raw is not { } raw || raw.Bytes.Length > 4096 || raw.OriginalSize != message.Length))
                    {
                        unexplained.Add($"deserializer {kind}: rejected without a bounded dead-letter copy");
                    }
                }
                catch (Exception ex)
                {
                    escaped.Add($"deserializer/{topic} {kind}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        for (var i = 0; i < Messages; i++)
        {
            var (kind, message) = inputs.Mutate(seeds[i % seeds.Count], i / seeds.Count + i, seeds);
            Check(kind, message);
        }

        // Multi-MiB messages: over the 1 MiB limit they are refused before parsing, and their dead letter is truncated.
        for (var i = 0; i < 6; i++)
        {
            Check("huge", inputs.Huge(seeds[i * 7 % seeds.Count], 2 + (i % 3)));
        }

        foreach (var (k, n) in outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{k,-48} {n,8}");
        }

        Assert.True(escaped.Count == 0, $"{escaped.Count} exceptions escaped, e.g.:\n{string.Join("\n", escaped.Take(10))}");
        Assert.True(unexplained.Count == 0, $"{unexplained.Count} outcomes without a reason, e.g.:\n{string.Join("\n", unexplained.Take(10))}");
        Assert.Equal((Messages + 6) * formats.Count, outcomes.Values.Sum());

        // Every code the guard adds was reached, and the corpus still decodes real records too.
        Assert.Contains(outcomes.Keys, k => k.EndsWith("/invalid_utf8", StringComparison.Ordinal));
        Assert.Contains(outcomes.Keys, k => k.EndsWith("/message_too_large", StringComparison.Ordinal));
        Assert.True(outcomes.Where(kv => kv.Key.Contains("/Event", StringComparison.Ordinal)).Sum(kv => kv.Value) > 1000, "mutations that stay valid still decode");
    }

    [SkippableFact]
    public async Task FeedbackParser_HostileVerdicts_AreAuditedWithAResultNeverThrown()
    {
        string[] verdicts =
        [
            """{"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec","item":{"a":"/bin/bash","b":"/usr/bin/node"},"analyst":"alice","reason":"ops"}""",
            """{"verdict":"false_positive","scope":"feature","workload":"prod/shop/Deployment/cart/cart","feature":"dns","expires":"2099-01-01T00:00:00Z","analyst":"a","reason":"r"}""",
            """{"verdict":"false_positive","scope":"detector","workload":"w","detector":"spike:cpu_cores","score":7.5,"analyst":"a","reason":"r"}""",
            """{"verdict":"true_positive","scope":"item","workload":"w","feature":"file","item":{"a":"/etc/shadow","n":3},"analyst":"a","reason":"r"}""",
        ];
        var seeds = verdicts.Select(Encoding.UTF8.GetBytes).ToList();
        using var temp = new TempFolder("fuzz-feedback-");
        var audit = Path.Combine(temp.Path, "audit.jsonl");
        var (consumer, detection, connection) = FeedbackTestKit.Consumer(audit, allowUnsigned: true);
        using var _ = connection;
        var inputs = new HostileInputs(7);
        var results = new Dictionary<string, int>(StringComparer.Ordinal);
        const int n = 20_000;
        for (var i = 0; i < n; i++)
        {
            var (_, message) = inputs.Mutate(seeds[i % seeds.Count], i, seeds);
            var result = await consumer.HandleAsync(message);
            results[result] = results.GetValueOrDefault(result) + 1;
        }

        await detection.CompleteAsync();
        output.WriteLine(string.Join(", ", results.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Subset(new HashSet<string> { "applied", "pending", "recorded", "rejected", "expired" }, results.Keys.ToHashSet());
        Assert.Equal(n, results.Values.Sum());
        var lines = File.ReadAllLines(audit);
        Assert.Equal(n, lines.Length);
        Assert.All(lines, l =>
        {
            var r = JsonDocument.Parse(l).RootElement;
            Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("detail").GetString()), l);
        });
    }

    [Fact]
    public void SuppressionParser_HostileFiles_ListErrorsNeverThrow()
    {
        var seed = Encoding.UTF8.GetBytes("""
            {"rules": [{"id": "wget-ok", "executable": "/usr/bin/wget", "category": "unexpected_process", "workload": "prod/*",
                        "expires": "2099-01-01T00:00:00Z", "reason": "nightly mirror", "created_by": "bob"},
                       {"id": "dns", "endpoint": "*.svc.cluster.local", "expires": "2099-01-01T00:00:00Z", "reason": "r"}]}
            """);
        var inputs = new HostileInputs(3);
        var valid = 0;
        const int n = 10_000;
        for (var i = 0; i < n; i++)
        {
            var (kind, bytes) = inputs.Mutate(seed, i, [seed]);
            var (rules, errors) = SuppressionRules.Parse(Encoding.UTF8.GetString(bytes), "rules.json");
            Assert.True(errors.Count > 0 || rules.Count > 0 || bytes.Length < 20 || kind == "empty" || Encoding.UTF8.GetString(bytes).Contains("\"rules\"", StringComparison.Ordinal), $"{kind}: neither rules nor errors");
            Assert.All(errors, e => Assert.StartsWith("rules.json", e, StringComparison.Ordinal));
            valid += errors.Count == 0 ? 1 : 0;
        }

        output.WriteLine($"{valid} of {n} mutated rule files still valid");
        Assert.InRange(valid, 1, n - 1);
    }

    [Theory]
    [InlineData("*a*a*a*b", 3)] // a backtracking matcher tries every split of the path between the stars: cubic
    [InlineData("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 3)] // the rule that timed the regular expression out
    [InlineData("*?*?*?*?*?*?*?*?*?*?b", 3)]
    [InlineData("/*a?a*a?a*z", 3)]
    public void Glob_CraftedPathAgainstManyStars_AnswersInLinearTime(string pattern, int stepsPerCharacter)
    {
        // A crafted path (alerts carry attacker-chosen text) against a rule with many stars. The work is counted in
        // steps of the matcher's walk, not timed, so that a loaded machine can neither pass nor fail the test; small
        // paths come first, so that a matcher that is not linear fails here before it takes forever.
        long previous = 0;
        for (var n = 16; n <= 8192; n *= 2)
        {
            var path = "/" + new string('a', n - 1);
            Assert.False(Glob.IsMatch(pattern, path, out var steps));

            // At most k steps per character, however many stars; twice the path, at most twice the work.
            Assert.True(steps <= (long)stepsPerCharacter * (n + pattern.Length), $"{n} characters: {steps} steps");
            Assert.True(previous == 0 || steps <= (2 * previous) + pattern.Length, $"{n} characters: {steps} steps, {previous} for half as many");
            previous = steps;
        }
    }

    [Fact]
    public void Glob_LiteralAfterTheLastStar_AtMostPatternTimesPathSteps()
    {
        // The greedy walk's worst case: the literal after the last star is compared again from each character.
        var pattern = "*" + new string('a', 16) + "b";
        var path = "/" + new string('a', 8191);

        Assert.False(Glob.IsMatch(pattern, path, out var steps));

        Assert.True(steps <= (long)(pattern.Length + 1) * path.Length, $"{steps} steps");
    }

    [Fact]
    public void Glob_StarsAndQuestionMarks_MatchAsGlobs()
    {
        Assert.True(Glob.IsMatch("prod/*/Deployment/?art/*", "prod/shop/Deployment/cart/cart"));
        Assert.True(Glob.IsMatch("*", ""));
        Assert.False(Glob.IsMatch("?", ""));
        Assert.True(Glob.IsMatch("a*b*c", "aXXbYYc"));
        Assert.False(Glob.IsMatch("a*b*c", "aXXbYY"));
        Assert.True(Glob.IsMatch("*a*a*b", "/aaaaab"));
    }

    private static string Preview(byte[] m) => Encoding.UTF8.GetString(m, 0, Math.Min(m.Length, 120));
}

/// <summary>A feedback consumer over a running one-shard pipeline, auditing to a file; verdicts are handed to it directly.</summary>
internal static class FeedbackTestKit
{
    public static (FeedbackConsumer Consumer, DetectionPipeline Detection, KafkaConnection Connection) Consumer(string audit, bool allowUnsigned = false, string? keysDirectory = null, TimeProvider? time = null)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new KafkaOptions
        {
            Topics = ["e"],
            FeedbackAuditFile = audit,
            FeedbackAllowUnsigned = allowUnsigned,
            FeedbackKeysDirectory = keysDirectory,
        });
        var metrics = new KafkaMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        var detection = new DetectionPipeline(Microsoft.Extensions.Options.Options.Create(new DetectionOptions { Shards = 1 }), new NoAlerts(), new DetectionMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), time ?? TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<DetectionPipeline>.Instance);
        detection.Start();
        var connection = new KafkaConnection(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaConnection>.Instance);
        return (new FeedbackConsumer(connection, options, new Detection.Feedback.VerdictHandler(detection, time ?? TimeProvider.System), metrics, time ?? TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<FeedbackConsumer>.Instance), detection, connection);
    }

    private sealed class NoAlerts : IAlertPublisher
    {
        public void Publish(Alert alert)
        {
        }
    }
}
