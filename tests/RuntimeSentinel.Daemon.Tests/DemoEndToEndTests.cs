using System.Text.Json;

using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

[Collection(TimingSensitiveCollection.Name)]
public class DemoEndToEndTests
{
    private static readonly string[] Attacks = ["reverse_shell", "shadow_read", "connection_burst", "cryptominer", "exfil_new_host", "bulk_upload_known_peer", "bind_shell"];

    [Fact]
    public async Task Demo_ShortRun_CatchesEveryAttackStaysQuietOnNormalAndServesMetrics()
    {
        var alertsFile = Path.Combine(Path.GetTempPath(), $"sentinel-demo-{Guid.NewGuid():N}.jsonl");
        try
        {
            // 20 s of learning: enough half-second windows to train the models that catch the two stealthy attacks.
            using var sentinel = new SentinelProcess("demo", "--duration", "60", "--learning", "20", "--alerts-file", alertsFile, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
            var address = await sentinel.AddressAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(address) };

            Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
            await WaitAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, "ready");

            // Scrape while running, once alerts have been raised.
            string metrics = "";
            await WaitAsync(async () =>
            {
                metrics = await http.GetStringAsync("/metrics");
                return Exposition.Sum(metrics, "sentinel_alerts_total") >= Attacks.Length;
            }, "alerts counted in /metrics");
            Assert.True(Exposition.Sum(metrics, "sentinel_events_consumed_total") > 1000);
            Assert.True(Exposition.Sum(metrics, "sentinel_workloads") >= 3);

            // /workloads is served on the admin listener only, never where metrics are scraped.
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/workloads")).StatusCode);
            using var admin = new HttpClient { BaseAddress = new Uri(await sentinel.AdminAddressAsync(TimeSpan.FromSeconds(5))) };

            // What the node knows per workload, most recently seen first; filtered and limited on request.
            var workloads = JsonDocument.Parse(await admin.GetStringAsync("/workloads")).RootElement;
            Assert.True(workloads.GetProperty("tracked").GetInt32() >= 3);
            Assert.All(workloads.GetProperty("workloads").EnumerateArray(), w =>
            {
                Assert.StartsWith("demo/", w.GetProperty("key").GetString(), StringComparison.Ordinal);
                Assert.Contains(w.GetProperty("phase").GetString(), new[] { "learning", "shadow", "active", "stale" });
                Assert.True(w.GetProperty("events_learned").GetInt64() > 0);
                Assert.True(w.GetProperty("model").TryGetProperty("memory_bytes", out _));
            });
            Assert.True(workloads.GetProperty("model_memory").GetProperty("budget_bytes").GetInt64() > 0);
            var postgres = JsonDocument.Parse(await admin.GetStringAsync("/workloads?q=POSTGRES&limit=1")).RootElement;
            Assert.Equal(1, postgres.GetProperty("shown").GetInt32());
            Assert.Contains("postgres", postgres.GetProperty("workloads")[0].GetProperty("key").GetString(), StringComparison.Ordinal);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await admin.GetAsync("/workloads?limit=0")).StatusCode);

            await sentinel.AssertExitsWithAsync(0, TimeSpan.FromSeconds(120)); // non-zero would mean an attack was missed
            // Incidents (schema v2): exactly one per attack, each holding the attack's alerts.
            var incidents = (await File.ReadAllLinesAsync(alertsFile)).Select(l => JsonDocument.Parse(l).RootElement)
                .GroupBy(i => i.GetProperty("id").GetString()).Select(g => g.Last()).ToList();
            string Scenario(JsonElement i) => i.GetProperty("alerts")[0].GetProperty("evidence")[0].GetProperty("labels").GetProperty("scenario").GetString()!;
            IEnumerable<string> Scenarios(JsonElement i) => i.GetProperty("alerts").EnumerateArray().SelectMany(a => a.GetProperty("evidence").EnumerateArray()).Select(e => e.GetProperty("labels").GetProperty("scenario").GetString()!);
            foreach (var attack in Attacks)
            {
                // Each attack is exactly one incident, and it holds the attack's own events. Which alert leads it is
                // timing: the demo runs on the wall clock, and where its half-second windows fall decides whether a model
                // alert confirmed on a window after the attack's (its largest transfer a normal one) comes first; CI on
                // a loaded machine saw that for the bulk upload. The lead's quality is measured offline, where time is
                // the events' own (docs/models.md, `evaluate events`).
                var forAttack = incidents.Where(i => Scenarios(i).Contains("attack:" + attack)).ToList();
                Assert.True(forAttack.Count == 1, $"{attack}: {forAttack.Count} incidents");
            }

            Assert.Contains("benign churn after learning: dns_rotation, rollout, cronjob_run", sentinel.Stdout, StringComparison.Ordinal);

            // False positives: incidents after learning led by a normal event and holding no attack's event at all.
            var normal = incidents.Where(i => Scenario(i) == "normal" && !Scenarios(i).Any(s => s.StartsWith("attack:", StringComparison.Ordinal)) && i.GetProperty("baseline").GetProperty("phase").GetString() == "active").ToList();
            var normalAfterLearning = normal.Sum(i => i.GetProperty("count").GetInt64());

            // Which detector said what, so a red run explains itself.
            Assert.True(normalAfterLearning <= 1, $"{normalAfterLearning} alerts on normal behaviour after learning: " + string.Join("; ", normal.Select(i => $"{i.GetProperty("category").GetString()} on {i.GetProperty("workload").GetProperty("key").GetString()}: {i.GetProperty("summary").GetString()}")));
            Assert.Contains("=== RuntimeSentinel demo summary ===", sentinel.Stdout);
            Assert.Equal(Attacks.Length, sentinel.Stdout.Split('\n').Count(l => l.Contains("DETECTED", StringComparison.Ordinal)));
            Assert.Contains("EMBEDDED Kafka", sentinel.Stderr);
        }
        finally
        {
            File.Delete(alertsFile);
        }
    }

    [Fact]
    public async Task Run_InvalidConfiguration_ListsEveryErrorAndExits2()
    {
        using var sentinel = new SentinelProcess("run", "--bootstrap-servers", "kafka:9092", "--topic", "bad topic", "--listen", "nonsense", "--group", " ");
        Assert.Equal(2, await sentinel.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var err = sentinel.Stderr;
        Assert.Contains("Configuration is invalid", err);
        Assert.Contains("bad topic", err);
        Assert.Contains("GroupId", err);
        Assert.Contains("Http:Listen", err);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(250);
        }
    }
}
