using System.Text;
using Confluent.Kafka;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Kafka;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// Real <c>sentinel run</c> processes in one consumer group, against a mock cluster they do not host (this test process
/// hosts it, over TCP), so a kill is a real SIGKILL: nothing is flushed, committed or checkpointed on the way out.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class FaultToleranceTests : IDisposable
{
    private const int Workloads = 12;
    private readonly MockKafkaCluster _cluster = new();
    private readonly List<(string Name, SentinelProcess Process)> _started = [];
    private readonly ITestOutputHelper _output;

    public FaultToleranceTests(ITestOutputHelper output)
    {
        _output = output;
        KafkaTestKit.CreateSentinelTopics(_cluster, 6, 3);
    }

    public void Dispose()
    {
        // Daemons run until stopped: whichever a failed test left running goes before the cluster it talks to.
        _started.ForEach(d => d.Process.Dispose());
        _cluster.Dispose();
    }

    private SentinelProcess Daemon(string name, string groupWait = "00:00:00.500", Dictionary<string, string>? extra = null)
    {
        var process = Start(name, groupWait, extra);
        _started.Add((name, process));
        return process;
    }

    // No --duration: a daemon runs until the test stops it (SIGTERM, SIGKILL) or disposes it, so no wait below has to fit
    // inside a lifetime chosen in advance.
    private SentinelProcess Start(string name, string groupWait, Dictionary<string, string>? extra) => new(
        new Dictionary<string, string>(extra ?? [])
        {
            ["SENTINEL_Kafka__SessionTimeoutMs"] = "3000",
            ["SENTINEL_Kafka__HeartbeatIntervalMs"] = "300",
            ["SENTINEL_Detection__LearningDuration"] = "00:00:00",
            ["SENTINEL_Detection__MinLearningEvents"] = "20",
            ["SENTINEL_Detection__CheckpointInterval"] = "00:00:01",
            ["SENTINEL_Detection__MetricsInterval"] = "00:00:01",
            ["SENTINEL_Alerting__IncidentGroupWait"] = groupWait,
            ["SENTINEL_Alerting__Console"] = "false",
            ["SENTINEL_Alerting__SpillDirectory"] = extra?.GetValueOrDefault("SENTINEL_Alerting__SpillDirectory") ?? Path.Combine(Path.GetTempPath(), "sentinel-faults-" + name + "-" + Guid.NewGuid().ToString("N")),
        },
        "run", "--bootstrap-servers", _cluster.BootstrapServers, "--group", "faults", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");

    private static WorkloadRef Wl(int w) => Some.Workload(owner: "svc" + w, pod: $"svc{w}-7d9f8b6c5b-x2k4p");

    private static async Task<HttpClient> HttpAsync(SentinelProcess p)
    {
        try
        {
            return new() { BaseAddress = new Uri(await p.AddressAsync(KafkaTestKit.Patience)), Timeout = TimeSpan.FromSeconds(10) };
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the daemon did not serve within {KafkaTestKit.Patience.TotalSeconds:0} s; stderr:\n{p.Stderr[^Math.Min(p.Stderr.Length, 4000)..]}");
        }
    }

    private static async Task<string> MetricsAsync(HttpClient http)
    {
        try
        {
            return await http.GetStringAsync("/metrics");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return "";
        }
    }

    /// <summary>
    /// Scrapes <paramref name="daemons"/> until <paramref name="done"/> holds for their /metrics (one text per daemon, in
    /// order); fails after <see cref="KafkaTestKit.Patience"/> with each daemon's value of <paramref name="shown"/>.
    /// </summary>
    private static Task<string[]> UntilAsync(HttpClient[] daemons, Func<string[], bool> done, string what, params string[] shown) =>
        KafkaTestKit.EventuallyAsync(
            _ => Task.WhenAll(daemons.Select(MetricsAsync)),
            done,
            KafkaTestKit.Patience,
            what,
            scrapes => string.Join("; ", scrapes.Select((m, i) => $"daemon {i + 1}: " + string.Join(", ", shown.Select(s => $"{s}={Value(m, s)}")))));

    /// <summary>A metric's sum in one scrape; <c>name:label</c> sums only the series with that label value.</summary>
    private static double Value(string scrape, string metric) =>
        metric.Split(':') is [var name, var label] ? Exposition.Sum(scrape, name, label) : Exposition.Sum(scrape, metric);

    private static double Sum(IEnumerable<string> scrapes, string metric) => scrapes.Sum(m => Value(m, metric));

    [Fact]
    public async Task Run_ThreeDaemonsOneKilledAnotherJoins_EveryEventHandledNoWorkloadLearnsAgainNoAlertLost()
    {
        using var d1 = Daemon("d1");
        using var d2 = Daemon("d2");
        using var d3 = Daemon("d3");
        using var h1 = await HttpAsync(d1);
        using var h2 = await HttpAsync(d2);
        using var h3 = await HttpAsync(d3);
        var all = new[] { h1, h2, h3 };
        await UntilAsync(all, ms => ms.All(m => Value(m, "sentinel_assigned_partitions") > 0), "three members share the six partitions", "sentinel_assigned_partitions");

        // Learning: each workload runs its one program, keyed by workload (its events stay on one partition).
        using var producer = KafkaTestKit.Producer(_cluster);
        for (var w = 0; w < Workloads; w++)
        {
            for (var i = 0; i < 30; i++)
            {
                producer.Produce("sentinel.events", Known(w));
            }
        }

        KafkaTestKit.Flush(producer);
        await UntilAsync(
            all,
            ms => Sum(ms, "sentinel_events_consumed_total") >= Workloads * 30
                && Sum(ms, "sentinel_workloads:active") + Sum(ms, "sentinel_workloads:shadow") == Workloads
                && Sum(ms, "sentinel_state_writes_total:ok") >= Workloads,
            "every workload learned and checkpointed",
            "sentinel_events_consumed_total",
            "sentinel_workloads:active",
            "sentinel_workloads:shadow",
            "sentinel_state_writes_total:ok");
        var onD2 = Exposition.Sum(await MetricsAsync(h2), "sentinel_workloads", "active") + Exposition.Sum(await MetricsAsync(h2), "sentinel_workloads", "shadow");

        // A node dies: SIGKILL, mid-stream. Then a new member joins.
        d2.KillHard();
        using var d4 = Daemon("d4");
        using var h4 = await HttpAsync(d4);
        var survivors = new[] { h1, h3, h4 };
        await UntilAsync(survivors, ms => Sum(ms, "sentinel_assigned_partitions") == 6 && Value(ms[2], "sentinel_assigned_partitions") > 0, "the survivors and the new member own all six partitions", "sentinel_assigned_partitions");

        // After the failure: one known program and one new one in every workload.
        for (var w = 0; w < Workloads; w++)
        {
            producer.Produce("sentinel.events", Known(w));
            producer.Produce("sentinel.events", Nc(w));
        }

        KafkaTestKit.Flush(producer);

        // Every workload's new program reaches the alerts topic, from whichever member now owns it.
        Assert.Equal(Workloads, AlertedOnNc());

        // No survivor learns a workload again: those that moved came back from their checkpoints.
        var metrics = new List<string>();
        foreach (var h in survivors)
        {
            metrics.Add(await MetricsAsync(h));
        }

        Assert.All(metrics, m => Assert.Equal(0, Exposition.Sum(m, "sentinel_workloads", "learning")));
        Assert.True(metrics.Sum(m => Exposition.Sum(m, "sentinel_state_restores_total", "restored")) >= onD2, $"restored {metrics.Sum(m => Exposition.Sum(m, "sentinel_state_restores_total", "restored"))}, the killed member had {onD2}");
        Assert.Equal(0, metrics.Sum(m => Exposition.Sum(m, "sentinel_state_restores_total", "refused")));
        Assert.True(metrics.Sum(m => Exposition.Sum(m, "sentinel_events_consumed_total")) >= Workloads * 2, "every event after the failure was handled");
        Assert.Equal(0, metrics.Sum(m => Exposition.Sum(m, "sentinel_decode_failures_total")));

        // Stopped as Kubernetes stops pods: every event, including those the killed member had not committed, is
        // committed by someone.
        foreach (var d in new[] { d1, d3, d4 })
        {
            Assert.Equal(0, await d.StopGracefullyAsync(KafkaTestKit.Patience));
        }

        AssertEveryEventCommitted();
    }

    [Fact]
    public async Task Run_RollingRestartOfThreeDaemonsUnderLoad_NoWorkloadLearnsAgainNoEventOrAlertLost()
    {
        var daemons = new List<SentinelProcess> { Daemon("r1"), Daemon("r2"), Daemon("r3") };
        var https = new List<HttpClient>();
        try
        {
            foreach (var d in daemons)
            {
                https.Add(await HttpAsync(d));
            }

            using var producer = KafkaTestKit.Producer(_cluster);
            for (var w = 0; w < Workloads; w++)
            {
                for (var i = 0; i < 30; i++)
                {
                    producer.Produce("sentinel.events", Known(w));
                }
            }

            KafkaTestKit.Flush(producer);
            await UntilAsync(
                [.. https],
                ms => Sum(ms, "sentinel_workloads:active") + Sum(ms, "sentinel_workloads:shadow") == Workloads && Sum(ms, "sentinel_state_writes_total:ok") >= Workloads,
                "every workload learned and checkpointed",
                "sentinel_workloads:active",
                "sentinel_workloads:shadow",
                "sentinel_state_writes_total:ok");

            // Load throughout: known programs in every workload, while each member in turn is stopped and replaced. The
            // pause only paces the load (about 200 events a second); no step waits on it.
            using var load = new CancellationTokenSource();
            var produced = 0;
            var feeding = Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    producer.Produce("sentinel.events", Known(produced % Workloads));
                    produced++;
                    await Task.Delay(5);
                }
            });
            for (var i = 0; i < daemons.Count; i++)
            {
                Assert.Equal(0, await daemons[i].StopGracefullyAsync(KafkaTestKit.Patience));
                daemons[i].Dispose();
                https[i].Dispose();
                daemons[i] = Daemon("r" + (i + 1) + "b");
                https[i] = await HttpAsync(daemons[i]);
                await UntilAsync([https[i]], ms => Value(ms[0], "sentinel_assigned_partitions") > 0, $"replacement {i + 1} owns partitions", "sentinel_assigned_partitions", "sentinel_rebalances_total:assigned");
            }

            await load.CancelAsync();
            await feeding;
            for (var w = 0; w < Workloads; w++)
            {
                producer.Produce("sentinel.events", Nc(w));
            }

            KafkaTestKit.Flush(producer);
            Assert.Equal(Workloads, AlertedOnNc());
            var metrics = new List<string>();
            foreach (var h in https)
            {
                metrics.Add(await MetricsAsync(h));
            }

            Assert.All(metrics, m => Assert.Equal(0, Exposition.Sum(m, "sentinel_workloads", "learning")));
            Assert.Equal(0, metrics.Sum(m => Exposition.Sum(m, "sentinel_state_restores_total", "refused")));
            Assert.True(produced > 100, $"{produced} events under load");
            foreach (var d in daemons)
            {
                Assert.Equal(0, await d.StopGracefullyAsync(KafkaTestKit.Patience));
            }

            AssertEveryEventCommitted();
        }
        finally
        {
            daemons.ForEach(d => d.Dispose());
            https.ForEach(h => h.Dispose());
        }
    }

    [Fact]
    public async Task Run_KilledWhileAlertsWaitForGrouping_TheNextMemberRaisesThemAgain()
    {
        // Incidents wait ten minutes for related alerts before they are emitted, far longer than any wait in this test:
        // the daemon always dies inside that wait, however slow the machine.
        using var producer = KafkaTestKit.Producer(_cluster);
        using var first = Daemon("k1", groupWait: "00:10:00");
        using var h1 = await HttpAsync(first);

        // Each workload's events on one partition of 0-4, as its key would keep them on one; partition 5 is left for the
        // marker below, so that nothing held back for alerts sits in front of it.
        for (var w = 0; w < Workloads; w++)
        {
            for (var i = 0; i < 30; i++)
            {
                producer.Produce(new TopicPartition("sentinel.events", w % 5), Known(w));
            }
        }

        KafkaTestKit.Flush(producer);
        await UntilAsync(
            [h1],
            ms => Value(ms[0], "sentinel_state_writes_total:ok") >= Workloads && Value(ms[0], "sentinel_workloads:learning") == 0 && Value(ms[0], "sentinel_workloads:active") + Value(ms[0], "sentinel_workloads:shadow") == Workloads,
            "every workload learned and checkpointed",
            "sentinel_state_writes_total:ok",
            "sentinel_workloads:learning",
            "sentinel_workloads:active",
            "sentinel_workloads:shadow");
        var held = new List<TopicPartitionOffset>();
        for (var w = 0; w < Workloads; w++)
        {
            held.Add((await producer.ProduceAsync(new TopicPartition("sentinel.events", w % 5), Nc(w))).TopicPartitionOffset);
        }

        await UntilAsync([h1], ms => Value(ms[0], "sentinel_alerts_total") >= Workloads, "every nc alert raised", "sentinel_alerts_total", "sentinel_events_consumed_total");

        // The alerts are raised and wait for grouping, so their events' offsets must not be committed. Proof that a commit
        // ran since, which would have taken them had they been completed: a known event, produced now, on the partition
        // nothing is held on. It is processed after the nc events were; its offset is committed only after a checkpoint
        // round that began once it was processed (which would have covered the nc events too) and an auto-commit after
        // that. So once it is committed, everything the daemon would ever commit for the nc events is committed too.
        var marker = await producer.ProduceAsync(new TopicPartition("sentinel.events", 5), Known(0));
        var firstHeld = held.GroupBy(h => h.Partition.Value).ToDictionary(g => g.Key, g => g.Min(h => h.Offset.Value));
        await KafkaTestKit.EventuallyAsync(
            _ => Task.FromResult(KafkaTestKit.Committed(_cluster, "faults", "sentinel.events", TimeSpan.FromSeconds(10))),
            c => c[5] > marker.Offset.Value && firstHeld.All(h => c[h.Key] >= h.Value),
            KafkaTestKit.Patience,
            $"the marker (offset {marker.Offset.Value} on partition 5) and every event before the first nc event of each partition ({Show(firstHeld)}) committed",
            Show);
        first.KillHard();

        // Not one nc event's offset was committed, and no incident left the daemon.
        Assert.Equal(firstHeld, KafkaTestKit.Committed(_cluster, "faults", "sentinel.events", TimeSpan.FromSeconds(10)).Where(c => firstHeld.ContainsKey(c.Key)).ToDictionary());
        Assert.Equal(0, KafkaTestKit.Ends(_cluster, "sentinel.alerts", TimeSpan.FromSeconds(10)).Values.Sum());

        // The next member re-reads the events whose alerts were not safe, and raises them.
        using var second = Daemon("k2");
        using var h2 = await HttpAsync(second);
        Assert.Equal(Workloads, AlertedOnNc());
        Assert.Equal(0, Exposition.Sum(await MetricsAsync(h2), "sentinel_workloads", "learning"));
        Assert.Equal(0, await second.StopGracefullyAsync(KafkaTestKit.Patience));
        AssertEveryEventCommitted();
    }

    [Fact]
    public async Task Run_BrokerDownAndBackUp_DaemonKeepsGoingAndCatchesUp()
    {
        using var producer = KafkaTestKit.Producer(_cluster);
        using var daemon = Daemon("b1");
        using var http = await HttpAsync(daemon);
        for (var w = 0; w < Workloads; w++)
        {
            for (var i = 0; i < 30; i++)
            {
                producer.Produce("sentinel.events", Known(w));
            }
        }

        KafkaTestKit.Flush(producer);
        var before = await UntilAsync([http], ms => Value(ms[0], "sentinel_events_consumed_total") >= Workloads * 30, "learning events consumed", "sentinel_events_consumed_total");

        // The only broker goes away, and events keep arriving at the producer meanwhile. It stays away until the daemon
        // has observably been cut off: its Kafka client reported the lost broker, and its group session expired for want
        // of heartbeats (its partitions reported lost). That is the outage the daemon must live through; a fixed pause
        // was either longer than needed or, on a slow machine, over before the daemon noticed.
        _cluster.SetBrokerDown(1);
        for (var w = 0; w < Workloads; w++)
        {
            producer.Produce("sentinel.events", Nc(w));
        }

        await UntilAsync(
            [http],
            ms => Value(ms[0], "sentinel_kafka_errors_total") > Value(before[0], "sentinel_kafka_errors_total") && Value(ms[0], "sentinel_rebalances_total:lost") > Value(before[0], "sentinel_rebalances_total:lost"),
            "the daemon reports the broker gone and its partitions lost",
            "sentinel_kafka_errors_total",
            "sentinel_rebalances_total:lost",
            "sentinel_assigned_partitions");
        Assert.False(daemon.HasExited, "the daemon stopped while the broker was down:\n" + daemon.Stderr[^Math.Min(daemon.Stderr.Length, 3000)..]);
        _cluster.SetBrokerUp(1);
        KafkaTestKit.Flush(producer);

        Assert.Equal(Workloads, AlertedOnNc());
        await UntilAsync([http], ms => Value(ms[0], "sentinel_events_consumed_total") >= Workloads * 31, "caught up", "sentinel_events_consumed_total", "sentinel_assigned_partitions");
        Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        Assert.Equal(0, await daemon.StopGracefullyAsync(KafkaTestKit.Patience));
        AssertEveryEventCommitted();
    }

    [Fact]
    public async Task Run_WebhookDownAndDaemonKilledMeanwhile_EveryIncidentDeliveredOnceBothReturn()
    {
        using var temp = new TempFolder("sentinel-spill-kill-");
        var port = FreePort();
        var webhook = new Dictionary<string, string>
        {
            ["SENTINEL_Alerting__Webhook__Url"] = $"http://127.0.0.1:{port}/hook",
            ["SENTINEL_Alerting__MaxBackoff"] = "00:00:01",
            ["SENTINEL_Alerting__SpillDirectory"] = temp.Path,
        };
        using var producer = KafkaTestKit.Producer(_cluster);
        using var first = Daemon("w1", extra: webhook);
        using var h1 = await HttpAsync(first);
        for (var w = 0; w < Workloads; w++)
        {
            for (var i = 0; i < 30; i++)
            {
                producer.Produce("sentinel.events", Known(w));
            }
        }

        KafkaTestKit.Flush(producer);
        await UntilAsync([h1], ms => Value(ms[0], "sentinel_workloads:learning") == 0 && Value(ms[0], "sentinel_events_consumed_total") >= Workloads * 30, "learned", "sentinel_workloads:learning", "sentinel_events_consumed_total");
        for (var w = 0; w < Workloads; w++)
        {
            producer.Produce("sentinel.events", Nc(w));
        }

        KafkaTestKit.Flush(producer);

        // Nobody listens on the webhook port: the incidents go to the spill directory, which makes them safe, so their
        // events complete and are committed. Killed only once the group's commits reached the end of every partition.
        await UntilAsync([h1], ms => Value(ms[0], "sentinel_alert_sink_spilled_total:webhook") >= Workloads, "every incident spilled", "sentinel_alert_sink_spilled_total:webhook");
        var ends = KafkaTestKit.Ends(_cluster, "sentinel.events", TimeSpan.FromSeconds(10));
        await KafkaTestKit.EventuallyAsync(
            _ => Task.FromResult(KafkaTestKit.Committed(_cluster, "faults", "sentinel.events", TimeSpan.FromSeconds(10))),
            c => ends.All(e => c[e.Key] == e.Value),
            KafkaTestKit.Patience,
            $"every event committed (partition ends {Show(ends)})",
            Show);
        first.KillHard();

        // Both come back: the receiver, and a daemon on the same node (same spill directory).
        using var receiver = new System.Net.HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var receiving = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                System.Net.HttpListenerContext ctx;
                try
                {
                    ctx = await receiver.GetContextAsync();
                }
                catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using (var reader = new StreamReader(ctx.Request.InputStream))
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(await reader.ReadToEndAsync());
                    foreach (var incident in doc.RootElement.EnumerateArray())
                    {
                        if (incident.GetRawText().Contains("/usr/bin/nc", StringComparison.Ordinal))
                        {
                            lock (ids)
                            {
                                var key = incident.GetProperty("id").GetString() + "#" + incident.GetProperty("version").GetInt32();
                                ids[key] = ids.GetValueOrDefault(key) + 1;
                            }
                        }
                    }
                }

                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        });
        using var second = Daemon("w2", extra: webhook);
        using var h2 = await HttpAsync(second);
        await KafkaTestKit.EventuallyAsync(
            () => { lock (ids) { return ids.Count >= Workloads; } },
            KafkaTestKit.Patience,
            "every spilled incident delivered",
            () => { lock (ids) { return $"{ids.Count} of {Workloads} incidents received"; } });
        Assert.Equal(0, await second.StopGracefullyAsync(KafkaTestKit.Patience));
        receiver.Stop();
        await receiving;

        // Each (id, version) once: spilled, so safe, so committed, so not raised again by the second daemon.
        Assert.Equal(Workloads, ids.Count);
        Assert.All(ids, kv => Assert.Equal(1, kv.Value));
        AssertEveryEventCommitted();
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    private static Message<byte[]?, byte[]> Known(int w) =>
        new() { Key = Encoding.UTF8.GetBytes("svc" + w), Value = Some.Json(Some.Exec("/usr/bin/node", "/usr/bin/tini", Wl(w))) };

    /// <summary>A program the workload never ran while learning: one alert.</summary>
    private static Message<byte[]?, byte[]> Nc(int w) =>
        new() { Key = Encoding.UTF8.GetBytes("svc" + w), Value = Some.Json(Some.Exec("/usr/bin/nc", "/bin/sh", Wl(w))) };

    private static string Show(Dictionary<int, long> offsets) => string.Join(", ", offsets.OrderBy(o => o.Key).Select(o => $"[{o.Key}] {o.Value}"));

    /// <summary>Workloads with an incident about /usr/bin/nc on the alerts topic (reads until every workload has one).</summary>
    private int AlertedOnNc()
    {
        var alerted = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            KafkaTestKit.ReadAll(
                _cluster,
                "sentinel.alerts",
                rs =>
                {
                    foreach (var r in rs)
                    {
                        if (Encoding.UTF8.GetString(r.Message.Value).Contains("/usr/bin/nc", StringComparison.Ordinal) && r.Message.Key is { } key)
                        {
                            alerted.Add(Encoding.UTF8.GetString(key));
                        }
                    }

                    return alerted.Count >= Workloads;
                },
                KafkaTestKit.Patience,
                $"an incident about /usr/bin/nc for each of the {Workloads} workloads");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nworkloads alerted on /usr/bin/nc: {alerted.Count} ({string.Join(", ", alerted.Order())})", ex);
        }

        _output.WriteLine($"workloads alerted on the new program: {alerted.Count} of {Workloads}");
        return alerted.Count;
    }

    /// <summary>The group's committed offsets are the end of every event partition: each event was processed by someone.</summary>
    private void AssertEveryEventCommitted()
    {
        using var c = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _cluster.BootstrapServers, GroupId = "faults", EnableAutoCommit = false }).Build();
        var partitions = Enumerable.Range(0, 6).Select(p => new TopicPartition("sentinel.events", p)).ToList();
        var committed = c.Committed(partitions, TimeSpan.FromSeconds(10));
        long total = 0;
        var behind = new List<string>();
        foreach (var tpo in committed)
        {
            var end = c.QueryWatermarkOffsets(tpo.TopicPartition, TimeSpan.FromSeconds(10)).High.Value;
            if (end != tpo.Offset.Value)
            {
                behind.Add($"partition {tpo.Partition.Value}: committed {tpo.Offset.Value}, end {end}");
            }

            total += end;
        }

        if (behind.Count > 0)
        {
            // Which member held the partition last, and what it said about alerts, checkpoints and commits, is what
            // tells a lost commit from a replay that had no one left to finish it.
            var said = _started.Select(d => $"--- {d.Name} ---\n" + string.Join('\n', d.Process.Stderr.Split('\n')
                .Where(l => l.Contains("warn", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal) || l.Contains("assigned", StringComparison.OrdinalIgnoreCase) || l.Contains("revoked", StringComparison.OrdinalIgnoreCase) || l.Contains("stopped", StringComparison.OrdinalIgnoreCase))
                .TakeLast(25)));
            throw new Xunit.Sdk.XunitException(string.Join('\n', behind) + "\n" + string.Join('\n', said));
        }

        // The counts a closing note quotes: every event in was committed by some member.
        _output.WriteLine($"events in {total}, committed {committed.Sum(t => t.Offset.Value)} on {partitions.Count} partitions");
        Assert.True(total > 0);
    }
}
