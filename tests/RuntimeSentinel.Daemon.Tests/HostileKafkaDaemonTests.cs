using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Formats;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The real <c>sentinel run</c> process against a Kafka it does not own (a mock cluster in the test process, over
/// TCP), fed thousands of hostile messages on its event and feedback topics while it runs: it stays alive, healthy
/// and ready, and counts every valid and every rejected message.
/// </summary>
public sealed class HostileKafkaDaemonTests : IDisposable
{
    private readonly MockKafkaCluster _cluster = new();

    public HostileKafkaDaemonTests()
    {
        KafkaTestKit.CreateSentinelTopics(_cluster, 3, 3);
    }

    public void Dispose() => _cluster.Dispose();

    [SkippableFact]
    public async Task Run_HostileMessagesWhileRunning_StaysAliveHealthyReadyAndCountsEveryMessage()
    {
        var tetragon = Datasets.Require(Path.Combine("tool-samples", "tetragon", "docs_current_format_events.jsonl"), "tool-samples/tetragon");
        var seeds = File.ReadLines(tetragon).Select(Encoding.UTF8.GetBytes).Append(Some.Json(Some.Exec("/bin/sh"))).Append(Some.Json(Some.Connect("10.0.0.1", 443))).ToList();
        var decoder = EventFormats.Create("auto");
        var inputs = new HostileInputs(424242);
        int valid = 0, poison = 0;
        var events = new List<byte[]>();
        for (var i = 0; i < 3000; i++)
        {
            var (_, m) = i % 4 == 0 ? ("seed", seeds[i % seeds.Count]) : inputs.Mutate(seeds[i % seeds.Count], i, seeds);
            events.Add(m);
            if (decoder.Decode(m, out _, out _, out _) == DecodeStatus.Event)
            {
                valid++;
            }
            else
            {
                poison++; // rejected (or ignored: also counted, never dead-lettered)
            }
        }

        // The state topic is input too: checkpoints for the very workloads the events belong to (so restores are
        // attempted), and records no daemon wrote, before the daemon starts (read at start-up) and while it runs (tailed).
        var resolver = new WorkloadResolver("local");
        var workloads = seeds.Select(m => decoder.Decode(m, out var e, out _, out _) == DecodeStatus.Event ? resolver.Resolve(e.Workload).Value : null).OfType<string>().Distinct().ToList();
        var random = new Random(7);
        byte[] HostileState(int i)
        {
            var body = new byte[i % 7 == 0 ? 0 : random.Next(1, 40_000)];
            random.NextBytes(body);
            if (i % 3 == 1 && body.Length >= 13)
            {
                "RSWC"u8.CopyTo(body); // the checkpoint magic, then a format byte and garbage
                body[4] = (byte)(i % 5);
            }

            return body;
        }

        int stateRecords = 0;
        void ProduceState(IProducer<byte[]?, byte[]> p, int i)
        {
            byte[]? key = (i % 4) switch
            {
                0 => null,
                1 => [0xC3, 0x28],
                _ => Encoding.UTF8.GetBytes(workloads[i % workloads.Count]),
            };
            p.Produce("sentinel.state", new Message<byte[]?, byte[]> { Key = key, Value = HostileState(i) });
            stateRecords++;
        }

        using (var early = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = _cluster.BootstrapServers }).Build())
        {
            for (var i = 0; i < 60; i++)
            {
                ProduceState(early, i);
            }

            KafkaTestKit.Flush(early);
        }

        // No --duration: the daemon runs until the test stops it, however long the waits below take on a busy machine.
        using var sentinel = new SentinelProcess(
            new Dictionary<string, string> { ["SENTINEL_Kafka__SessionTimeoutMs"] = "3000", ["SENTINEL_Kafka__HeartbeatIntervalMs"] = "300", ["SENTINEL_Alerting__Console"] = "false" },
            "run", "--bootstrap-servers", _cluster.BootstrapServers, "--group", "hostile", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
        using var http = new HttpClient { BaseAddress = new Uri(await sentinel.AddressAsync(KafkaTestKit.Patience)), Timeout = TimeSpan.FromSeconds(10) };
        await WaitAsync(async () => await http.GetStringAsync("/readyz"), text => text.StartsWith("ready", StringComparison.Ordinal), "ready", sentinel);

        using (var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = _cluster.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < events.Count; i++)
            {
                producer.Produce("sentinel.events", new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("k" + (i % 11)), Value = events[i] });
                if (i % 10 == 0)
                {
                    // Verdicts nobody signed, and garbage, on the feedback topic.
                    producer.Produce("sentinel.feedback", new Message<byte[]?, byte[]> { Value = inputs.Mutate(events[i], i, seeds).Bytes });
                    ProduceState(producer, 60 + (i / 10));
                }

                if (i % 500 == 0)
                {
                    KafkaTestKit.Flush(producer);
                    Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
                }
            }

            KafkaTestKit.Flush(producer);
        }

        var metrics = await WaitAsync(
            async () => await http.GetStringAsync("/metrics"),
            m => Exposition.Sum(m, "sentinel_events_consumed_total") + Exposition.Sum(m, "sentinel_decode_failures_total") + Exposition.Sum(m, "sentinel_events_ignored_total") >= events.Count
                && Exposition.Sum(m, "sentinel_feedback_total") >= 300,
            $"every message counted ({events.Count} events, 300 verdicts)",
            sentinel,
            m => $"consumed {Exposition.Sum(m, "sentinel_events_consumed_total")}, decode failures {Exposition.Sum(m, "sentinel_decode_failures_total")}, ignored {Exposition.Sum(m, "sentinel_events_ignored_total")}, verdicts {Exposition.Sum(m, "sentinel_feedback_total")}");

        Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        Assert.StartsWith("ready", await http.GetStringAsync("/readyz"), StringComparison.Ordinal);
        Assert.Equal(valid, Exposition.Sum(metrics, "sentinel_events_consumed_total"));
        Assert.Equal(poison, Exposition.Sum(metrics, "sentinel_decode_failures_total") + Exposition.Sum(metrics, "sentinel_events_ignored_total"));
        Assert.Equal(300, Exposition.Sum(metrics, "sentinel_feedback_total", "rejected"));
        Assert.Equal(0, Exposition.Sum(metrics, "sentinel_stage_item_failures_total", "ingest"));
        Assert.DoesNotContain("sentinel_stage_up{stage=\"ingest\"} 0", metrics, StringComparison.Ordinal);

        // No hostile checkpoint was taken for a workload's state: each one met was refused, and the workloads learn anew.
        Assert.True(stateRecords > 300, $"{stateRecords} state records");
        Assert.True(Exposition.Sum(metrics, "sentinel_state_restores_total", "refused") > 0, "hostile checkpoints of the events' workloads were met and refused");
        Assert.Equal(0, Exposition.Sum(metrics, "sentinel_state_restores_total", "restored"));
        Assert.DoesNotContain("sentinel_stage_up{stage=\"state-table\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FeedbackSend_VerdictFile_PublishesItSignedWithTheAnalystsKey()
    {
        using var temp = new TempFolder("feedback-send-");
        var keyFile = Path.Combine(temp.Path, "alice");
        await File.WriteAllTextAsync(keyFile, "alice-key-0123456789abcdef\n");
        var verdictFile = Path.Combine(temp.Path, "verdict.json");
        var verdict = """{"verdict":"false_positive","scope":"item","workload":"prod/shop/Deployment/cart/cart","feature":"exec","item":{"a":"/bin/bash"},"reason":"ops shell"}""";
        await File.WriteAllTextAsync(verdictFile, verdict + "\n");

        using var sentinel = new SentinelProcess("feedback", "send", "--bootstrap-servers", _cluster.BootstrapServers, "--analyst", "alice", "--key-file", keyFile, verdictFile);
        await sentinel.AssertExitsWithAsync(0, KafkaTestKit.Patience);

        // The command exits once its send is acknowledged: the topic holds exactly what it wrote, read to its end.
        var sent = Assert.Single(KafkaTestKit.ReadToEnd(_cluster, "sentinel.feedback", KafkaTestKit.Patience));
        Assert.Equal(verdict, Encoding.UTF8.GetString(sent.Message.Value));
        Assert.Equal("alice", Encoding.UTF8.GetString(sent.Message.Headers.GetLastBytes(FeedbackSignature.KeyHeader)));

        // The signature computed here from its documented form (docs/alerts.md, Feedback: "sha256=" and the lower-case hex
        // HMAC-SHA256 of the message value, keyed with the key file's content less its line end), not by the product's
        // own signer, which would agree with itself however it drifted. The known answer, from
        // `printf %s "$verdict" | openssl dgst -sha256 -hmac alice-key-0123456789abcdef`, pins that form.
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("alice-key-0123456789abcdef"), Encoding.UTF8.GetBytes(verdict)));
        Assert.Equal("sha256=bf1deea3f710825508ab2811b4f552cfbf520deab7ddfd0f3b2aa20d4044e507", expected);
        Assert.Equal(expected, Encoding.UTF8.GetString(sent.Message.Headers.GetLastBytes(FeedbackSignature.SignatureHeader)));
    }

    /// <summary>
    /// Observes the daemon until <paramref name="done"/> holds (an answer it does not give yet counts as not done) and
    /// returns the observation; fails after <see cref="KafkaTestKit.Patience"/> with the last one and the daemon's log.
    /// </summary>
    private static async Task<string> WaitAsync(Func<Task<string>> observe, Func<string, bool> done, string what, SentinelProcess sentinel, Func<string, string>? describe = null)
    {
        var last = "(no answer yet)";
        try
        {
            return await KafkaTestKit.EventuallyAsync(
                async _ =>
                {
                    try
                    {
                        return last = await observe();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        // Not listening yet, or gone: the ceiling decides.
                        last = $"(no answer: {ex.Message})";
                        return "";
                    }
                },
                done,
                KafkaTestKit.Patience,
                what,
                seen => describe is null || seen.Length == 0 ? last : describe(seen));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{sentinel.Stderr[^Math.Min(sentinel.Stderr.Length, 3000)..]}", ex);
        }
    }
}
