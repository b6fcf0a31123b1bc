using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

/// <summary>Alerts carry text attackers chose; nothing in them may break delivery, leak a secret or inject markup.</summary>
public class HostileAlertTests
{
    [Theory]
    [InlineData("mysql -h db -u app -pS3cretPass shop", "mysql -h db -u app -p[REDACTED] shop")]
    [InlineData("curl -H Authorization: Bearer eyJhbGciOi.abc.def https://api", "curl -H Authorization: Bearer [REDACTED] https://api")]
    [InlineData("app --password hunter2 --port 80", "app --password [REDACTED] --port 80")]
    [InlineData("app --token=abc123 run", "app --token=[REDACTED] run")]
    [InlineData("env DB_PASSWORD=x PGPASSWORD=secret psql", "env DB_PASSWORD=[REDACTED] PGPASSWORD=[REDACTED] psql")]
    [InlineData("git clone https://bob:ghp_xyz@github.com/acme/repo", "git clone https://bob:[REDACTED]@github.com/acme/repo")]
    [InlineData("aws s3 ls --key AKIAABCDEFGHIJKLMNOP", "aws s3 ls --key [REDACTED]")]
    [InlineData("redis-cli -h cache -a p4ss ping", "redis-cli -h cache -a [REDACTED] ping")]
    [InlineData("/usr/sbin/nginx -g daemon off;", "/usr/sbin/nginx -g daemon off;")]
    public void Redact_DefaultPatterns_MaskSecretsAndKeepTheRest(string args, string expected)
    {
        var redactor = new ArgumentRedactor(new RedactionOptions());
        Assert.Equal(expected, redactor.Redact(args));
    }

    [Fact]
    public void Redact_OwnPatternAndDefaultsOff_OnlyTheOwnPatternApplies()
    {
        var redactor = new ArgumentRedactor(new RedactionOptions { Defaults = false, Patterns = [@"customer-(?<s>\d+)"] });
        Assert.Equal("export customer-[REDACTED] --password x", redactor.Redact("export customer-4711 --password x"));
        Assert.False(ArgumentRedactor.IsValidPattern(@"(a)\1", out var problem)); // backreferences cannot run in linear time
        Assert.False(string.IsNullOrEmpty(problem));
        Assert.All(ArgumentRedactor.DefaultPatterns, p => Assert.True(ArgumentRedactor.IsValidPattern(p, out _), p));
    }

    [Fact]
    public void Apply_AlertWithSecretInEvidence_EvidenceRedactedOriginalUntouched()
    {
        var alert = TestAlerts.Make(Some.Exec("/usr/bin/mysql") with { Process = new ProcessInfo(7, 1, 0, "/usr/bin/mysql", "mysql -uroot -pTopSecret", "/bin/sh") });
        var redacted = new ArgumentRedactor(new RedactionOptions()).Apply(alert);
        Assert.Equal("mysql -uroot -p[REDACTED]", redacted.Evidence[0].Process.Args);
        Assert.Equal("mysql -uroot -pTopSecret", alert.Evidence[0].Process.Args);
        var json = Encoding.UTF8.GetString(IncidentJsonWriter.ToUtf8(new Incident(redacted, Some.Time) { Status = IncidentStatus.Firing, Version = 1 }, null));
        Assert.DoesNotContain("TopSecret", json, StringComparison.Ordinal);
    }

    [Fact]
    public void SlackRender_SummaryWithMarkup_IsEscaped()
    {
        var alert = TestAlerts.Make(Some.Exec("/tmp/<!channel>&<https://evil.example|click>"));
        var slack = new SlackAlertSink(() => new HttpClient(), new EndpointOptions { Url = "http://127.0.0.1:1/" }, null);
        var text = Encoding.UTF8.GetString(slack.Render(new Incident(alert, Some.Time) { Status = IncidentStatus.Firing, Version = 1 }));
        Assert.DoesNotContain("<!channel>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<https://evil", text, StringComparison.Ordinal);
        Assert.Contains("&lt;!channel&gt;&amp;&lt;https://evil.example|click&gt;", text, StringComparison.Ordinal);
    }

    [Fact]
    public void SlackUrlFile_UrlReadFromTheFileNeverInConfig()
    {
        using var temp = new TempFolder("slack-url-");
        var file = Path.Combine(temp.Path, "url");
        File.WriteAllText(file, "https://hooks.slack.example/T000/B000/XXXX\n");
        var options = new EndpointOptions { UrlFile = file };
        Assert.True(options.Enabled);
        Assert.Equal("https://hooks.slack.example/T000/B000/XXXX", options.ResolveUrl());
        var errors = new AlertingOptionsValidator().Validate(null, new AlertingOptions { Slack = new EndpointOptions { UrlFile = file, Url = "https://x" } });
        Assert.Contains("give Url or UrlFile, not both", string.Join(" ", errors.Failures ?? []), StringComparison.Ordinal);
    }

    [Fact]
    public void DiskQueue_CorruptAndForeignFiles_AreSetAsideNotFatal()
    {
        using var temp = new TempFolder("spill-corrupt-");
        var dir = Path.Combine(temp.Path, "sink");
        var q = new DiskQueue(dir, 1 << 20);
        q.Append([Encoding.UTF8.GetBytes("first")]);
        q.Append([Encoding.UTF8.GetBytes("second")]);
        var files = Directory.GetFiles(dir, "*.batch").Order(StringComparer.Ordinal).ToList();
        File.WriteAllBytes(files[0], [0xFF, 0xFF, 0xFF, 0x7F, 1, 2]); // claims 2^31 items
        File.WriteAllText(Path.Combine(dir, "notes.batch"), "not ours");

        var reopened = new DiskQueue(dir, 1 << 20); // must not throw at start-up
        var oldest = reopened.Peek();
        Assert.NotNull(oldest);
        Assert.Equal("second", Encoding.UTF8.GetString(Assert.Single(oldest.Value.Items)));
        Assert.True(File.Exists(files[0] + ".corrupt"));
    }

    [Fact]
    public async Task Dispatcher_ObserverAndRuleThrow_KeepsDeliveringAndCountsTheFailures()
    {
        using var temp = new TempFolder("hostile-rule-");
        File.WriteAllText(temp["rules.json"], """{"rules": [{"id": "ops-sshd", "executable": "/usr/sbin/sshd", "reason": "ops", "expires": "2099-01-01T00:00:00Z"}]}""");
        var options = AlertDispatcherTests.Options();
        options.SuppressionFile = temp["rules.json"];

        // Without redaction patterns nothing reads an alert's evidence before the suppression rule does.
        options.Redact = new RedactionOptions { Defaults = false };
        var sink = new AlertDispatcherTests.ListSink("list");
        var registry = new HealthRegistry();
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var d = new AlertDispatcher([sink], [new ThrowingObserver()], Microsoft.Extensions.Options.Options.Create(options), metrics, new TestClock(), NullLogger<AlertDispatcher>.Instance, registry);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();

        // The rule throws on the middle alert's evidence (a detector bug, or a decoder fooled by hostile input).
        d.Publish(TestAlerts.Exec("/bin/sh", 1));
        d.Publish(TestAlerts.Exec("/bin/nc", 2, ppid: 99) with { Evidence = new UnreadableEvidence(), Receipt = new AlertReceipt(1, () => settled.TrySetResult()) });
        d.Publish(TestAlerts.Exec("/usr/bin/id", 3, ppid: 98)); // another process tree: its own incident
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);

        var stage = registry.Stages.Single(s => s.Name == "alert-dispatcher");
        Assert.Equal(StageState.Stopped, stage.State); // stopped by the host, not faulted
        Assert.Empty(registry.Faulted);
        Assert.Equal(1, metrics.Dropped.WithLabels("failed").Value); // the alert the rule threw on
        Assert.True(settled.Task.IsCompleted, "the failed alert's receipt was not settled");
        Assert.Equal(3, stage.Failures); // that alert, and the observer for each of the two incidents
        Assert.Equal(2, sink.Received.Count); // both delivered anyway
        Assert.Equal(0, metrics.Suppressed.WithLabels("ops-sshd").Value);
    }

    [Theory]
    [InlineData(Severity.High)]
    [InlineData(Severity.Critical)]
    public async Task Dispatcher_FloodOfNoveltyAndOneShell_ShellIsItsOwnIncidentFloodIsOneWithItsTopItems(Severity shellSeverity)
    {
        var sink = new AlertDispatcherTests.ListSink("list");
        var observer = new Collect();
        var options = AlertDispatcherTests.Options();
        options.MaxIncidentsPerWorkloadPerHour = 2;
        options.QueueCapacity = 10_000;
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var d = new AlertDispatcher([sink], [observer], Microsoft.Extensions.Options.Options.Create(options), metrics, new TestClock(), NullLogger<AlertDispatcher>.Instance);
        await d.StartAsync(default);

        // 400 new peers of one workload in the same minute, each from its own connection (process), medium severity.
        for (var i = 0; i < 400; i++)
        {
            var e = Some.Connect($"10.244.{i / 250}.{i % 250}", 8000 + (i % 5)) with { Process = new ProcessInfo(2000 + i, 1, 0, "/usr/bin/python3", null, "/usr/bin/tini") };
            d.Publish(TestAlerts.Make(e, "unexpected_network", Severity.Medium, observed: $"peer-{i}:8000/tcp", time: Some.Time.AddMilliseconds(i * 100)));
        }

        for (var i = 0; i < 5; i++)
        {
            // Other categories, medium, and more than the budget allows.
            d.Publish(TestAlerts.Make(Some.FileOpen("/var/tmp/x" + i) with { Process = new ProcessInfo(4000 + i, 1, 0, "/usr/bin/python3", null, null) }, "unexpected_file" + i, Severity.Medium, observed: "/var/tmp/x" + i));
        }

        // The flood and the first file incident spent the workload's budget (the clock does not move, so it does not
        // refill); the other four are held.
        await d.PassAsync();
        Assert.Equal(4, metrics.HeldBack.WithLabels("workload").Value);

        // Only the exemption of high and critical incidents lets the shell through now.
        d.Publish(TestAlerts.Make(Some.Exec("/bin/sh") with { Process = new ProcessInfo(31337, 1001, 0, "/bin/sh", "sh -i", "/usr/sbin/nginx") }, "unexpected_process", shellSeverity, time: Some.Time.AddSeconds(30)));
        await d.PassAsync();
        var shell = Assert.Single(observer.Incidents, i => i.Category == "unexpected_process");
        Assert.Equal((1, 1L, shellSeverity), (shell.Version, shell.Count, shell.Severity));
        Assert.Equal(4, metrics.HeldBack.WithLabels("workload").Value);
        Assert.Equal(0, d.Budget.HeldBySeverity[(int)shellSeverity]);

        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Contains(sink.Received, r => r.StartsWith(shell.Id + "#", StringComparison.Ordinal));
        var first = observer.Incidents.Where(i => i.Version == 1 && i.Kind == "detection").ToList();
        var flood = Assert.Single(first, i => i.Category == "unexpected_network");
        var final = observer.Incidents.Last(i => i.Id == flood.Id);
        Assert.Equal(400, final.Count);
        Assert.StartsWith("400 distinct findings (unexpected_network) of shop/Deployment/cart in ", final.Note, StringComparison.Ordinal);
        Assert.Contains(" s: peer-0:8000/tcp, peer-1:8000/tcp, peer-2:8000/tcp, peer-3:8000/tcp, peer-4:8000/tcp, …", final.Note, StringComparison.Ordinal);

        // The budget's summary names what it held, and it held no high or critical one.
        var summary = Assert.Single(observer.Incidents, i => i.Kind == "budget_summary");
        Assert.Contains("4 incidents held back", summary.Note, StringComparison.Ordinal);
        Assert.Contains("severities: medium 4;", summary.Note, StringComparison.Ordinal);
        Assert.Contains("high and critical are never held", summary.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispatcher_SecretsInArguments_NoSinkNorObserverEverSeesThem()
    {
        using var temp = new TempFolder("hostile-redact-");
        var clock = new TestClock();
        var endpoint = new CapturingHandler();
        var console = new StringWriter();
        var options = AlertDispatcherTests.Options();
        IAlertSink[] sinks =
        [
            new ConsoleAlertSink(console),
            new JsonLinesFileAlertSink(temp["alerts.jsonl"]),
            new WebhookAlertSink(endpoint.Client, new WebhookOptions { Url = "http://receiver.example/hook", Secret = "k" }, null, clock),
            new AlertmanagerAlertSink(endpoint.Client, new EndpointOptions { Url = "http://receiver.example/am" }, null, options, clock),
            new SlackAlertSink(endpoint.Client, new EndpointOptions { Url = "http://receiver.example/slack" }, null),
        ];
        var observer = new Collect();
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var d = new AlertDispatcher(sinks, [observer], Microsoft.Extensions.Options.Options.Create(options), metrics, clock, NullLogger<AlertDispatcher>.Instance);
        await d.StartAsync(default);

        // One process tree: a database client with its password (the incident's first version), then its child with a
        // bearer token (folded in: the second version, sent by the flush at stop).
        d.Publish(TestAlerts.Make(Some.Exec("/usr/bin/mysql") with { Process = new ProcessInfo(700, 1, 0, "/usr/bin/mysql", "mysql -h db -u app -pS3cretPass shop", "/bin/sh") }));
        await d.PassAsync();
        d.Publish(TestAlerts.Make(Some.Exec("/usr/bin/curl") with { Process = new ProcessInfo(701, 700, 0, "/usr/bin/curl", "curl -H Authorization: Bearer eyJhbGciOi.abc.def https://api.example", "/usr/bin/mysql") }));
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);

        var webhookBodies = endpoint.Requests.Where(r => r.Uri.AbsolutePath == "/hook").Select(r => r.Body).ToList();
        var rendered = new Dictionary<string, string>
        {
            ["console"] = console.ToString(),
            ["file"] = File.ReadAllText(temp["alerts.jsonl"]),
            ["webhook"] = string.Join("\n", webhookBodies),
            ["alertmanager"] = string.Join("\n", endpoint.Requests.Where(r => r.Uri.AbsolutePath == "/am/api/v2/alerts").Select(r => r.Body)),
            ["slack"] = string.Join("\n", endpoint.Requests.Where(r => r.Uri.AbsolutePath == "/slack").Select(r => r.Body)),
            ["observer"] = string.Join("\n", observer.Incidents.Select(i => Encoding.UTF8.GetString(IncidentJsonWriter.ToUtf8(i)))),
        };
        foreach (var (who, text) in rendered)
        {
            Assert.False(string.IsNullOrEmpty(text), $"{who} saw nothing");
            Assert.DoesNotContain("S3cretPass", text, StringComparison.Ordinal);
            Assert.DoesNotContain("eyJhbGciOi", text, StringComparison.Ordinal);
            Assert.True(text.Contains("/usr/bin/mysql", StringComparison.Ordinal), $"{who} lost what is not secret: {text}");
        }

        Assert.Equal(2, observer.Incidents.Count);
        Assert.All(observer.Incidents.SelectMany(i => i.Samples).SelectMany(a => a.Evidence), e => Assert.DoesNotContain("S3cret", e.Process.Args, StringComparison.Ordinal));

        // Where arguments are rendered, the secret's place and everything around it remain.
        foreach (var text in new[] { rendered["file"], rendered["webhook"], rendered["observer"] })
        {
            Assert.Contains("mysql -h db -u app -p[REDACTED] shop", text, StringComparison.Ordinal);
            Assert.Contains("curl -H Authorization: Bearer [REDACTED] https://api.example", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Dispatcher_ControlCharactersInEventFields_TextSinksPrintOneEscapedLine()
    {
        var clock = new TestClock();
        var endpoint = new CapturingHandler();
        var console = new StringWriter();
        var options = AlertDispatcherTests.Options();
        IAlertSink[] sinks =
        [
            new ConsoleAlertSink(console),
            new AlertmanagerAlertSink(endpoint.Client, new EndpointOptions { Url = "http://receiver.example/am" }, null, options, clock),
            new SlackAlertSink(endpoint.Client, new EndpointOptions { Url = "http://receiver.example/slack" }, null),
        ];
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        var d = new AlertDispatcher(sinks, [], Microsoft.Extensions.Options.Options.Create(options), metrics, clock, NullLogger<AlertDispatcher>.Instance);
        await d.StartAsync(default);

        // A binary named to forge a console line, clear the analyst's terminal and reorder what is displayed; its pod too.
        const string exe = "/tmp/x\nALERT 2026-12-05T00:00:00.000Z CRITICAL forged\u001b[2J\u001b[H\u202egnp";
        var hostile = Some.Workload(pod: "cart-7d9f8b6c5b-x2k4p\r\nfake") with { Namespace = "shop\u001b[31m" };
        d.Publish(TestAlerts.Make(Some.Exec(exe, workload: hostile) with { Process = new ProcessInfo(66, 1, 0, exe, "x", "/bin/sh") }));
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);

        var line = console.ToString();
        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(@"/tmp/x\nALERT 2026-12-05T00:00:00.000Z CRITICAL forged\x1b[2J\x1b[H\u202egnp", line, StringComparison.Ordinal);
        var slack = endpoint.Requests.Single(r => r.Uri.AbsolutePath == "/slack").Body;
        var alertmanager = endpoint.Requests.Single(r => r.Uri.AbsolutePath == "/am/api/v2/alerts").Body;
        foreach (var (who, text) in new[] { ("console", line.TrimEnd('\n')), ("slack", JsonDocument.Parse(slack).RootElement.GetProperty("text").GetString()!), ("alertmanager", alertmanager) })
        {
            Assert.False(text.Any(c => c < ' ' || c is '\u007f' or '\u202e'), $"{who}: {text}");
        }

        // Decoded, Alertmanager's annotations and labels hold no control character either (JSON escaping alone would).
        var am = JsonDocument.Parse(alertmanager).RootElement[0];
        foreach (var p in am.GetProperty("annotations").EnumerateObject().Concat(am.GetProperty("labels").EnumerateObject()))
        {
            Assert.False(ControlCharactersIn(p.Value.GetString()!), $"{p.Name}: {p.Value.GetString()}");
        }

        static bool ControlCharactersIn(string s) => s.Any(c => c < ' ' || c is '\u007f' or '\u202e');
    }

    /// <summary>Evidence that cannot be read: whoever looks at it (here: a suppression rule) throws.</summary>
    private sealed class UnreadableEvidence : IReadOnlyList<RuntimeEvent>
    {
        public int Count => 1;

        public RuntimeEvent this[int index] => throw new InvalidDataException("evidence unreadable");

        public IEnumerator<RuntimeEvent> GetEnumerator() => throw new InvalidDataException("evidence unreadable");

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class Collect : IIncidentObserver
    {
        public List<Incident> Incidents { get; } = [];

        public void OnIncident(Incident incident) => Incidents.Add(incident.Snapshot());
    }

    private sealed class ThrowingObserver : IIncidentObserver
    {
        public void OnIncident(Incident incident) => throw new InvalidOperationException("observer bug");
    }
}
