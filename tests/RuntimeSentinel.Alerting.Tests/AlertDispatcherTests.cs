using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class AlertDispatcherTests
{
    internal sealed class ListSink(string name, int failFirst = 0) : IAlertSink
    {
        private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
        private int _calls;

        public List<string> Received { get; } = [];

        public string Name => name;

        public bool Down { get; set; }

        /// <summary>Delivery attempts so far, failed ones included.</summary>
        public int Calls => Volatile.Read(ref _calls);

        public byte[] Render(Incident incident) => Encoding.UTF8.GetBytes($"{incident.Id}#{incident.Version}");

        public ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= failFirst || Down)
            {
                throw new IOException("sink down");
            }

            lock (Received)
            {
                Received.AddRange(items.Select(Encoding.UTF8.GetString));
                foreach (var w in _waiters.Where(w => Received.Count >= w.Count).ToList())
                {
                    _waiters.Remove(w);
                    w.Done.TrySetResult();
                }
            }

            return ValueTask.CompletedTask;
        }

        /// <summary>Completes once <paramref name="count"/> items were delivered (fails the test at the ceiling).</summary>
        public Task WaitForAsync(int count)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Received)
            {
                if (Received.Count >= count)
                {
                    return Task.CompletedTask;
                }

                _waiters.Add((count, done));
            }

            return done.Task.WaitAsync(TestClock.Ceiling);
        }
    }

    private sealed class Observer : IIncidentObserver
    {
        public List<Incident> Seen { get; } = [];

        public void OnIncident(Incident incident) => Seen.Add(incident);
    }

    /// <summary>
    /// Delivery without waits on the clock (no batch delay, retries and back-off at once), so a test advances the
    /// clock only for what it is about.
    /// </summary>
    internal static AlertingOptions Options(string? spill = null) => new()
    {
        QueueCapacity = 100,
        IncidentGroupWait = TimeSpan.Zero,
        BatchDelay = TimeSpan.Zero,
        RetryBaseDelay = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        SpillDirectory = spill ?? Directory.CreateTempSubdirectory("sentinel-spill-").FullName,
    };

    private static (AlertDispatcher Dispatcher, AlertingMetrics Metrics, Observer Observer) Create(IEnumerable<IAlertSink> sinks, AlertingOptions? options = null, TimeProvider? clock = null)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var observer = new Observer();
        var d = new AlertDispatcher(sinks, [observer], Microsoft.Extensions.Options.Options.Create(options ?? Options()), metrics, clock ?? new TestClock(), NullLogger<AlertDispatcher>.Instance);
        return (d, metrics, observer);
    }

    [Fact]
    public async Task Publish_ThenStop_DeliversEveryIncidentToEverySink()
    {
        var a = new ListSink("a");
        var b = new ListSink("b");
        var (d, metrics, observer) = Create([a, b]);
        await d.StartAsync(default);
        for (var i = 0; i < 25; i++)
        {
            d.Publish(TestAlerts.Exec("/bin/tool" + i, 100 + i));
        }

        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(25, a.Received.Count);
        Assert.Equal(a.Received.Order(), b.Received.Order());
        Assert.Equal(25, observer.Seen.Count);
        Assert.Equal(25, metrics.Alerts.WithLabels("baseline", "unexpected_process", "high").Value);
        Assert.Equal(25, metrics.SinkSent.WithLabels("a").Value);
    }

    [Fact]
    public async Task Publish_CategoryOutsideTheCatalogue_CountedUnderOther()
    {
        var (d, metrics, _) = Create([new ListSink("a")]);
        await d.StartAsync(default);
        d.Publish(TestAlerts.Make(Some.Exec("/bin/tool", "/usr/bin/node"), AlertCategories.PeerVolume, Severity.Medium));
        d.Publish(TestAlerts.Make(Some.Exec("/bin/other", "/usr/bin/node"), "made_up\"} 1", Severity.Medium));
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);

        // The label's values are the catalogue's, whatever string an alert carries.
        Assert.Equal(1, metrics.Alerts.WithLabels("baseline", "peer_volume", "medium").Value);
        Assert.Equal(1, metrics.Alerts.WithLabels("baseline", AlertCategories.OtherMetricLabel, "medium").Value);
    }

    [Fact]
    public async Task Publish_OneProcessTreeDoingSeveralThings_IsOneIncident()
    {
        var clock = new TestClock();
        var opts = Options();
        opts.IncidentGroupWait = TimeSpan.FromSeconds(3);
        var (d, _, observer) = Create([new ListSink("s")], opts, clock);
        await d.StartAsync(default);
        d.Publish(TestAlerts.Exec("/bin/sh", 88));
        d.Publish(TestAlerts.Exec("/tmp/xmrig", 89, ppid: 88));
        d.Publish(TestAlerts.Make(Some.Dns("pool.supportxmr.com") with { Process = new(89, 88, 0, "/tmp/xmrig", null, "/bin/sh") }, "unexpected_dns"));

        // A resource anomaly names no process. What it shows happened two minutes after the tree's events (beyond the
        // processless join window), so only arriving within the tree's group wait folds it in.
        d.Publish(TestAlerts.Make(Some.Resource(1.9, 1 << 20) with { Timestamp = Some.Time.AddMinutes(2) }, "resource_anomaly", observed: "cpu"));
        d.Publish(TestAlerts.Exec("/usr/bin/unrelated", 500));
        await d.PassAsync();
        Assert.Empty(observer.Seen); // still grouping

        clock.Advance(opts.IncidentGroupWait);
        await d.PassAsync();
        var firing = observer.Seen.Where(i => i.Version == 1).ToList();
        Assert.Equal(2, firing.Count);
        var tree = firing.Single(i => i.Count > 1);
        Assert.Equal(4, tree.Count);
        Assert.Equal(["resource_anomaly", "unexpected_dns", "unexpected_process"], tree.Categories);

        // Once the group wait is over, another processless alert whose events are far from every incident's opens its own.
        clock.Advance(TimeSpan.FromSeconds(1));
        d.Publish(TestAlerts.Make(Some.Resource(0.1, 1 << 30) with { Timestamp = Some.Time.AddMinutes(10) }, "resource_anomaly", observed: "memory"));
        await d.PassAsync();
        clock.Advance(opts.IncidentGroupWait);
        await d.PassAsync();
        var late = Assert.Single(observer.Seen.Where(i => i.Version == 1).Except(firing));
        Assert.Equal((1L, "resource_anomaly"), (late.Count, late.Category));

        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(4, observer.Seen.Last(i => i.Id == tree.Id).Count);
    }

    [Fact]
    public async Task Publish_SameFindingFromManyPods_FoldsIntoOneIncidentWithPods()
    {
        var clock = new TestClock();
        var opts = Options();
        opts.IncidentGroupWait = TimeSpan.FromSeconds(3);
        var (d, metrics, observer) = Create([new ListSink("s")], opts, clock);
        await d.StartAsync(default);
        // Each pod's shell is its own process (another pid): only the finding's fingerprint ties them together.
        var pods = new[] { "cart-7d9f8b6c5b-aaaaa", "cart-7d9f8b6c5b-bbbbb", "cart-7d9f8b6c5b-ccccc" };
        d.Publish(TestAlerts.Exec("/bin/bash", 40, pod: pods[0]));
        await d.PassAsync();
        d.Publish(TestAlerts.Exec("/bin/bash", 40, pod: pods[0]));
        for (var p = 1; p < pods.Length; p++)
        {
            d.Publish(TestAlerts.Exec("/bin/bash", 40 + p, pod: pods[p]));
            d.Publish(TestAlerts.Exec("/bin/bash", 40 + p, pod: pods[p]));
        }

        await d.PassAsync();
        Assert.Empty(observer.Seen); // the first alert's group wait is not over: the repeats wait with it

        clock.Advance(opts.IncidentGroupWait);
        await d.PassAsync();
        var incident = Assert.Single(observer.Seen);
        Assert.Equal((6L, 3), (incident.Count, incident.Pods.Count));
        Assert.Equal(5, metrics.Folded.Value);

        // After the group wait, a repeat from a fourth pod is no new incident: it updates this one at the group interval.
        d.Publish(TestAlerts.Exec("/bin/bash", 43, pod: "cart-7d9f8b6c5b-ddddd"));
        await d.PassAsync();
        Assert.Single(observer.Seen);
        clock.Advance(opts.IncidentGroupInterval);
        await d.PassAsync();
        var update = observer.Seen[^1];
        Assert.Equal((incident.Id, 2, IncidentStatus.Updated, 7L, 4), (update.Id, update.Version, update.Status, update.Count, update.Pods.Count));

        // Only once the incident window passed without repeats does the same finding open a new incident.
        clock.Advance(opts.IncidentWindow);
        await d.PassAsync();
        d.Publish(TestAlerts.Exec("/bin/bash", 40, pod: pods[0]));
        await d.PassAsync();
        clock.Advance(opts.IncidentGroupWait);
        await d.PassAsync();
        var again = observer.Seen[^1];
        Assert.NotEqual(incident.Id, again.Id);
        Assert.Equal((1, 1L), (again.Version, again.Count));
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
    }

    [Fact]
    public async Task Publish_OverWorkloadBudget_HoldsBackAndSummarises()
    {
        var sink = new ListSink("s");
        var opts = Options();
        opts.MaxIncidentsPerWorkloadPerHour = 2;
        var (d, metrics, observer) = Create([sink], opts);
        await d.StartAsync(default);
        for (var i = 0; i < 5; i++)
        {
            // Medium findings of different kinds: five incidents for a budget of two (high ones are never held).
            d.Publish(TestAlerts.Make(Some.Exec("/bin/t" + i) with { Process = new Core.Events.ProcessInfo(1000 + i, 1, 0, "/bin/t" + i, null, null) }, "category_" + i, Severity.Medium));
        }

        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(2, observer.Seen.Count(i => i.Kind == "detection"));
        var summary = Assert.Single(observer.Seen, i => i.Kind == "budget_summary");
        Assert.Contains("3 incidents held back", summary.Note, StringComparison.Ordinal);
        Assert.Equal(3, metrics.HeldBack.WithLabels("workload").Value);
        Assert.Equal(3, sink.Received.Count);
    }

    [Fact]
    public void Publish_QueueFull_DropsAndCountsWithoutBlocking()
    {
        var opts = Options();
        opts.QueueCapacity = 3;
        var (d, metrics, _) = Create([new ListSink("a")], opts);
        for (var i = 0; i < 10; i++)
        {
            d.Publish(TestAlerts.Exec("/bin/x", i));
        }

        Assert.Equal(3, d.Published);
        Assert.Equal(7, metrics.Dropped.WithLabels("queue_full").Value);
    }

    [Fact]
    public async Task Publish_MatchingSuppressionRule_SilencesOnlyThatAlert()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, """
            {"rules": [{"id": "debug-shell", "workload": "prod/shop/Deployment/cart/*", "category": "unexpected_process",
                        "executable": "/bin/ba*", "expires": "2099-01-01T00:00:00Z", "reason": "INC-42 debugging", "created_by": "alice"}]}
            """);
        var sink = new ListSink("s");
        var opts = Options();
        opts.SuppressionFile = file;
        var (d, metrics, observer) = Create([sink], opts);
        await d.StartAsync(default);
        d.Publish(TestAlerts.Exec("/bin/bash", 1));
        d.Publish(TestAlerts.Exec("/bin/sh", 2));
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal("/bin/sh", Assert.Single(observer.Seen).Primary.Evidence[0].Process.Exe);
        Assert.Equal(1, metrics.Suppressed.WithLabels("debug-shell").Value);
        File.Delete(file);
    }

    [Fact]
    public async Task JsonLinesFileAlertSink_Incident_IsSchemaV2WithMitreLineageAndAlerts()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sentinel-{Guid.NewGuid():N}.jsonl");
        var sink = new JsonLinesFileAlertSink(path, "https://runbooks.example/{category}");
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 31337), Some.Time) { Status = IncidentStatus.Firing, Version = 1 };
        incident.Add(TestAlerts.Make(Some.Connect("203.0.113.66", 4444) with { Process = new(31337, 1, 0, "/bin/sh", null, "/usr/sbin/nginx") }, "unexpected_network", observed: "203.0.113.66:4444/tcp"));
        await sink.SendAsync([sink.Render(incident)], default);
        var line = Assert.Single(await File.ReadAllLinesAsync(path));
        var root = JsonDocument.Parse(line).RootElement;
        Assert.Equal(Incident.SchemaId, root.GetProperty("schema").GetString());
        Assert.Equal(2, root.GetProperty("count").GetInt64());
        Assert.Equal("T1059.004", root.GetProperty("mitre").GetProperty("technique").GetString());
        Assert.Equal("/bin/sh", root.GetProperty("lineage")[0].GetProperty("exe").GetString());
        Assert.Equal("/usr/bin/node", root.GetProperty("lineage")[1].GetProperty("exe").GetString());
        Assert.Equal("https://runbooks.example/unexpected_process", root.GetProperty("links").GetProperty("runbook").GetString());
        Assert.Equal(2, root.GetProperty("alerts").GetArrayLength());
        Assert.Equal(16, root.GetProperty("fingerprint").GetString()!.Length);
        Assert.Equal("/bin/sh", root.GetProperty("alerts")[0].GetProperty("explanation").GetProperty("item").GetProperty("a").GetString());
        File.Delete(path);
    }

    [Fact]
    public void ConsoleAlertSink_Incident_RendersOneReadableLine()
    {
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 1), Some.Time) { Status = IncidentStatus.Firing };
        var line = ConsoleAlertSink.Format(incident);
        Assert.StartsWith("ALERT ", line, StringComparison.Ordinal);
        Assert.Contains("HIGH", line, StringComparison.Ordinal);
        Assert.Contains("prod/shop/Deployment/cart/cart", line, StringComparison.Ordinal);
        Assert.Contains("[T1059.004]", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadSettings_ReportsEachBadFieldByName()
    {
        using var temp = new TempFolder("alerting-validate-");
        var badPattern = @"(a)\1";
        Assert.False(ArgumentRedactor.IsValidPattern(badPattern, out var problem));
        var result = new AlertingOptionsValidator().Validate(null, new AlertingOptions
        {
            QueueCapacity = 0,
            SinkQueueCapacity = 0,
            MaxBatchSize = 0,
            RetryAttempts = 0,
            MaxOpenIncidents = 0,
            MaxIncidentsPerWorkloadPerHour = 0,
            MaxIncidentsPerMinute = 0,
            IncidentWindow = TimeSpan.Zero,
            IncidentGroupInterval = TimeSpan.Zero,
            IncidentGroupWait = TimeSpan.FromSeconds(-1),
            ProcesslessJoinWindow = TimeSpan.FromSeconds(-1),
            BatchDelay = TimeSpan.FromSeconds(-1),
            RetryBaseDelay = TimeSpan.FromSeconds(-1),
            MaxBackoff = TimeSpan.FromSeconds(-1),
            SpillMaxBytes = 1024,
            SpillDirectory = " ",
            File = temp.Path,
            Webhook = new WebhookOptions { Url = "not a url", SecretFile = temp["missing-secret"] },
            Alertmanager = new EndpointOptions { Url = "http://am:9093", UrlFile = temp["am-url"] },
            Slack = new EndpointOptions { UrlFile = temp["missing-slack-url"] },
            Redact = new RedactionOptions { Patterns = [badPattern] },
            SuppressionFile = temp["missing-rules.json"],
        });

        string[] expected =
        [
            "Alerting:QueueCapacity must be at least 1.",
            "Alerting:SinkQueueCapacity must be at least 1.",
            "Alerting:MaxBatchSize must be at least 1.",
            "Alerting:RetryAttempts must be at least 1.",
            "Alerting:MaxOpenIncidents must be at least 1.",
            "Alerting:MaxIncidentsPerWorkloadPerHour must be at least 1.",
            "Alerting:MaxIncidentsPerMinute must be at least 1.",
            "Alerting:IncidentWindow must be positive.",
            "Alerting:IncidentGroupInterval must be positive.",
            "Alerting:IncidentGroupWait must not be negative.",
            "Alerting:ProcesslessJoinWindow must not be negative.",
            "Alerting:BatchDelay must not be negative.",
            "Alerting:RetryBaseDelay must not be negative.",
            "Alerting:MaxBackoff must not be negative.",
            "Alerting:SpillMaxBytes must be at least 1 MiB.",
            "Alerting:SpillDirectory must be set (a writable directory; in a pod, an emptyDir or volume).",
            $"Alerting:File '{temp.Path}' is a directory; give a file path.",
            "Alerting:Webhook:Url 'not a url' must be an absolute http(s) URL.",
            "Alerting:Alertmanager: give Url or UrlFile, not both.",
            $"Alerting:Slack:UrlFile '{temp["missing-slack-url"]}' does not exist.",
            $"Alerting:Redact:Patterns: '{badPattern}' is not a valid regular expression: {problem}",
            $"Alerting:Webhook:SecretFile '{temp["missing-secret"]}' does not exist.",
            $"Alerting:SuppressionFile '{temp["missing-rules.json"]}' does not exist.",
        ];
        Assert.True(result.Failed);
        Assert.Equal(expected.Order(StringComparer.Ordinal), result.Failures!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_FilesWithBadContent_ReportEachWithoutEchoingTheSecret()
    {
        using var temp = new TempFolder("alerting-validate-");
        File.WriteAllText(temp["slack-url"], "hooks.slack.example/T000/B000/SECRETPART\n");
        File.WriteAllText(temp["rules.json"], """{"rules": [{"id": "x", "category": "unexpected_dns", "expires": "2099-01-01T00:00:00Z"}]}""");
        var result = new AlertingOptionsValidator().Validate(null, new AlertingOptions
        {
            Slack = new EndpointOptions { UrlFile = temp["slack-url"] },
            SuppressionFile = temp["rules.json"],
        });

        Assert.Equal(
            ["Alerting:Slack:UrlFile must hold an absolute http(s) URL.", $"{temp["rules.json"]}: rules[0]: 'reason' is required (why is this fine?)"],
            result.Failures!);
        Assert.DoesNotContain("SECRETPART", string.Join(" ", result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlackAndWebhookSinks_PostTheDocumentedPayloads()
    {
        var endpoint = new CapturingHandler();
        using var http = endpoint.Client();
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 7), Some.Time) { Status = IncidentStatus.Firing, Version = 1 };
        var slack = new SlackAlertSink(() => http, new EndpointOptions { Url = "http://127.0.0.1:9/slack" }, "https://rb/{category}");
        await slack.SendAsync([slack.Render(incident)], default);
        var clock = new TestClock();
        var webhook = new WebhookAlertSink(() => http, new WebhookOptions { Url = "http://127.0.0.1:9/hook", Secret = "k" }, null, clock);
        await webhook.SendAsync([webhook.Render(incident)], default);

        var (toSlack, toHook) = (endpoint.Requests[0], endpoint.Requests[1]);
        Assert.Equal((HttpMethod.Post, "/slack"), (toSlack.Method, toSlack.Uri.AbsolutePath));
        var slackBody = JsonDocument.Parse(toSlack.Body).RootElement.GetProperty("text").GetString()!;
        Assert.Contains("*HIGH* `unexpected_process`", slackBody, StringComparison.Ordinal);
        Assert.Contains("<https://rb/unexpected_process|runbook>", slackBody, StringComparison.Ordinal);
        Assert.Equal((HttpMethod.Post, "/hook"), (toHook.Method, toHook.Uri.AbsolutePath));

        // The signature covers the timestamp (the clock's), so a receiver can refuse a replayed body.
        var ts = Some.Time.ToUnixTimeSeconds();
        Assert.Equal(ts.ToString(System.Globalization.CultureInfo.InvariantCulture), toHook.Headers[WebhookAlertSink.TimestampHeader]);
        Assert.Equal(WebhookAlertSink.Sign("k"u8.ToArray(), ts, Encoding.UTF8.GetBytes(toHook.Body)), toHook.Headers[WebhookAlertSink.SignatureHeader]);
        Assert.NotEqual(WebhookAlertSink.Sign("k"u8.ToArray(), ts + 1, Encoding.UTF8.GetBytes(toHook.Body)), toHook.Headers[WebhookAlertSink.SignatureHeader]);
        Assert.Equal(incident.Id, JsonDocument.Parse(toHook.Body).RootElement[0].GetProperty("id").GetString());
    }
}
