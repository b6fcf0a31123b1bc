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
        private int _calls;

        public List<string> Received { get; } = [];

        public string Name => name;

        public bool Down { get; set; }

        public byte[] Render(Incident incident) => Encoding.UTF8.GetBytes($"{incident.Id}#{incident.Version}");

        public ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
        {
            if (Down || Interlocked.Increment(ref _calls) <= failFirst)
            {
                throw new IOException("sink down");
            }

            lock (Received)
            {
                Received.AddRange(items.Select(Encoding.UTF8.GetString));
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class Observer : IIncidentObserver
    {
        public List<Incident> Seen { get; } = [];

        public void OnIncident(Incident incident) => Seen.Add(incident);
    }

    internal static AlertingOptions Options(string? spill = null) => new()
    {
        QueueCapacity = 100,
        IncidentGroupWait = TimeSpan.Zero,
        BatchDelay = TimeSpan.FromMilliseconds(10),
        RetryBaseDelay = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        SpillDirectory = spill ?? Directory.CreateTempSubdirectory("sentinel-spill-").FullName,
    };

    private static (AlertDispatcher Dispatcher, AlertingMetrics Metrics, Observer Observer) Create(IEnumerable<IAlertSink> sinks, AlertingOptions? options = null)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var observer = new Observer();
        var d = new AlertDispatcher(sinks, [observer], Microsoft.Extensions.Options.Options.Create(options ?? Options()), metrics, TimeProvider.System, NullLogger<AlertDispatcher>.Instance);
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

        await d.StopAsync(default);
        Assert.Equal(25, a.Received.Count);
        Assert.Equal(a.Received.Order(), b.Received.Order());
        Assert.Equal(25, observer.Seen.Count);
        Assert.Equal(25, metrics.Alerts.WithLabels("baseline", "unexpected_process", "high").Value);
        Assert.Equal(25, metrics.SinkSent.WithLabels("a").Value);
    }

    [Fact]
    public async Task Publish_OneProcessTreeDoingSeveralThings_IsOneIncident()
    {
        var sink = new ListSink("s");
        var opts = Options();
        opts.IncidentGroupWait = TimeSpan.FromMilliseconds(300);
        var (d, _, observer) = Create([sink], opts);
        await d.StartAsync(default);
        d.Publish(TestAlerts.Exec("/bin/sh", 88));
        d.Publish(TestAlerts.Exec("/tmp/xmrig", 89, ppid: 88));
        d.Publish(TestAlerts.Make(Some.Dns("pool.supportxmr.com") with { Process = new(89, 88, 0, "/tmp/xmrig", null, "/bin/sh") }, "unexpected_dns"));
        d.Publish(TestAlerts.Make(Some.Resource(1.9, 1 << 20), "resource_anomaly", observed: "cpu"));
        d.Publish(TestAlerts.Exec("/usr/bin/unrelated", 500));
        await d.StopAsync(default);
        var firing = observer.Seen.Where(i => i.Version == 1).ToList();
        Assert.Equal(2, firing.Count);
        var tree = firing.Single(i => i.Count > 1);
        Assert.Equal(4, tree.Count);
        Assert.Equal(["resource_anomaly", "unexpected_dns", "unexpected_process"], tree.Categories);
    }

    [Fact]
    public async Task Publish_SameFindingFromManyPods_FoldsIntoOneIncidentWithPods()
    {
        var sink = new ListSink("s");
        var opts = Options();
        opts.IncidentGroupWait = TimeSpan.FromMilliseconds(300);
        var (d, metrics, observer) = Create([sink], opts);
        await d.StartAsync(default);
        foreach (var pod in new[] { "cart-7d9f8b6c5b-aaaaa", "cart-7d9f8b6c5b-bbbbb", "cart-7d9f8b6c5b-ccccc" })
        {
            d.Publish(TestAlerts.Exec("/bin/bash", 42, pod: pod));
            d.Publish(TestAlerts.Exec("/bin/bash", 42, pod: pod));
        }

        await d.StopAsync(default);
        var incident = Assert.Single(observer.Seen.GroupBy(i => i.Id)).Last();
        Assert.Equal(6, incident.Count);
        Assert.Equal(3, incident.Pods.Count);
        Assert.Equal(5, metrics.Folded.Value);
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

        await d.StopAsync(default);
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
        await d.StopAsync(default);
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
    public void Validate_BadSettings_ListsEveryError()
    {
        var result = new AlertingOptionsValidator().Validate(null, new AlertingOptions
        {
            QueueCapacity = 0,
            MaxBatchSize = 0,
            File = Path.GetTempPath(),
            Webhook = new WebhookOptions { Url = "not a url" },
            SuppressionFile = "/nonexistent/rules.json",
        });
        Assert.True(result.Failed);
        Assert.Equal(5, result.Failures!.Count());
    }

    [Fact]
    public async Task SlackAndWebhookSinks_PostTheDocumentedPayloads()
    {
        var port = System.Net.Sockets.TcpListener.Create(0) is var t ? Start(t) : 0;
        var bodies = new List<(string Path, string Body, string? Signature, string? Timestamp)>();
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serve = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                var ctx = await listener.GetContextAsync();
                using var reader = new StreamReader(ctx.Request.InputStream);
                bodies.Add((ctx.Request.Url!.AbsolutePath, await reader.ReadToEndAsync(), ctx.Request.Headers[WebhookAlertSink.SignatureHeader], ctx.Request.Headers[WebhookAlertSink.TimestampHeader]));
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        });
        var incident = new Incident(TestAlerts.Exec("/bin/sh", 7), Some.Time) { Status = IncidentStatus.Firing, Version = 1 };
        using var http = new HttpClient();
        var slack = new SlackAlertSink(() => http, new EndpointOptions { Url = $"http://127.0.0.1:{port}/slack" }, "https://rb/{category}");
        await slack.SendAsync([slack.Render(incident)], default);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Some.Time);
        var webhook = new WebhookAlertSink(() => http, new WebhookOptions { Url = $"http://127.0.0.1:{port}/hook", Secret = "k" }, null, clock);
        await webhook.SendAsync([webhook.Render(incident)], default);
        await serve;

        var slackBody = JsonDocument.Parse(bodies[0].Body).RootElement.GetProperty("text").GetString()!;
        Assert.Contains("*HIGH* `unexpected_process`", slackBody, StringComparison.Ordinal);
        Assert.Contains("<https://rb/unexpected_process|runbook>", slackBody, StringComparison.Ordinal);
        Assert.Equal("/hook", bodies[1].Path);
        // The signature covers the timestamp, so a receiver can refuse a replayed body.
        Assert.Equal(Some.Time.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), bodies[1].Timestamp);
        Assert.Equal(WebhookAlertSink.Sign("k"u8.ToArray(), Some.Time.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(bodies[1].Body)), bodies[1].Signature);
        Assert.NotEqual(WebhookAlertSink.Sign("k"u8.ToArray(), Some.Time.ToUnixTimeSeconds() + 1, Encoding.UTF8.GetBytes(bodies[1].Body)), bodies[1].Signature);
        Assert.Equal(incident.Id, JsonDocument.Parse(bodies[1].Body).RootElement[0].GetProperty("id").GetString());

        static int Start(System.Net.Sockets.TcpListener l)
        {
            l.Start();
            var p = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return p;
        }
    }
}
