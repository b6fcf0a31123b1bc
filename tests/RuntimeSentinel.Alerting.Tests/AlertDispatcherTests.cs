using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class AlertDispatcherTests
{
    internal static Alert SomeAlert(string category = "unexpected_process", string scenario = "attack:x") => new()
    {
        Id = Guid.NewGuid().ToString(),
        Time = Some.Time,
        Workload = WorkloadResolver.Compute(Some.Workload(), "prod"),
        Identity = Some.Workload(),
        Node = "node-a",
        Detector = "baseline",
        Category = category,
        Severity = Severity.High,
        Score = 12.5,
        Threshold = 11.5,
        Summary = "shop/Deployment/cart: /bin/sh started by /usr/bin/node",
        Explanation = new Explanation("exec", "/bin/sh", 0, 3000, "shell started"),
        Baseline = new BaselineState(BaselinePhase.Active, TimeSpan.FromMinutes(31), 3000, Some.Time.AddMinutes(-1)),
        Evidence = [Some.Exec("/bin/sh", scenario: scenario)],
    };

    private sealed class ListSink(string name, bool fail = false) : IAlertSink
    {
        public List<Alert> Received { get; } = [];

        public int Flushes { get; private set; }

        public string Name => name;

        public ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
        {
            if (fail)
            {
                throw new IOException("sink down");
            }

            Received.AddRange(batch);
            return ValueTask.CompletedTask;
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return ValueTask.CompletedTask;
        }
    }

    private static (AlertDispatcher Dispatcher, AlertingMetrics Metrics) Create(IEnumerable<IAlertSink> sinks, int capacity = 100)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        return (new AlertDispatcher(sinks, Options.Create(new AlertingOptions { QueueCapacity = capacity, MaxBatchSize = 10 }), metrics, NullLogger<AlertDispatcher>.Instance), metrics);
    }

    [Fact]
    public async Task Publish_ThenStop_DeliversEverythingToEverySinkAndFlushes()
    {
        var a = new ListSink("a");
        var b = new ListSink("b");
        var (d, metrics) = Create([a, b]);
        await d.StartAsync(default);
        for (var i = 0; i < 25; i++)
        {
            d.Publish(SomeAlert());
        }

        await d.StopAsync(default);
        Assert.Equal(25, a.Received.Count);
        Assert.Equal(25, b.Received.Count);
        Assert.Equal(1, a.Flushes);
        Assert.Equal(25, metrics.Alerts.WithLabels("baseline", "unexpected_process", "high").Value);
        Assert.Equal(25, metrics.SinkSent.WithLabels("a").Value);
    }

    [Fact]
    public async Task Publish_OneSinkFails_OthersStillReceiveAndFailureIsCounted()
    {
        var good = new ListSink("good");
        var bad = new ListSink("bad", fail: true);
        var (d, metrics) = Create([bad, good]);
        await d.StartAsync(default);
        d.Publish(SomeAlert());
        d.Publish(SomeAlert());
        await d.StopAsync(default);
        Assert.Equal(2, good.Received.Count);
        Assert.True(metrics.SinkFailures.WithLabels("bad").Value >= 1);
    }

    [Fact]
    public void Publish_QueueFull_DropsAndCountsWithoutBlocking()
    {
        var (d, metrics) = Create([new ListSink("a")], capacity: 3);
        for (var i = 0; i < 10; i++)
        {
            d.Publish(SomeAlert());
        }

        Assert.Equal(3, d.Published);
        Assert.Equal(7, metrics.Dropped.WithLabels("queue_full").Value);
    }

    [Fact]
    public async Task JsonLinesFileAlertSink_Batch_WritesOneParsableObjectPerLine()
    {
        var path = Path.Combine(Path.GetTempPath(), "sentinel-test-" + Guid.NewGuid().ToString("N") + ".jsonl");
        try
        {
            using (var sink = new JsonLinesFileAlertSink(path))
            {
                await sink.WriteAsync([SomeAlert(), SomeAlert("unexpected_file", "normal")], default);
            }

            var lines = await File.ReadAllLinesAsync(path);
            Assert.Equal(2, lines.Length);
            using var doc = JsonDocument.Parse(lines[1]);
            var root = doc.RootElement;
            Assert.Equal(Alert.SchemaId, root.GetProperty("schema").GetString());
            Assert.Equal("unexpected_file", root.GetProperty("category").GetString());
            Assert.Equal("high", root.GetProperty("severity").GetString());
            Assert.Equal("prod/shop/Deployment/cart/cart", root.GetProperty("workload").GetProperty("key").GetString());
            Assert.Equal("cart-7d9f8b6c5b-x2k4p", root.GetProperty("workload").GetProperty("pod").GetString());
            Assert.Equal(12.5, root.GetProperty("score").GetDouble());
            Assert.Equal(11.5, root.GetProperty("threshold").GetDouble());
            Assert.Equal("active", root.GetProperty("baseline").GetProperty("phase").GetString());
            Assert.Equal(3000, root.GetProperty("baseline").GetProperty("events_learned").GetInt64());
            var evidence = root.GetProperty("evidence")[0];
            Assert.Equal("normal", evidence.GetProperty("labels").GetProperty("scenario").GetString());

            // Evidence is native schema v1: it decodes back into the event.
            var decoder = new EventDecoder();
            Assert.True(decoder.TryDecode(System.Text.Encoding.UTF8.GetBytes(evidence.GetRawText()), out var e, out _));
            Assert.Equal("/bin/sh", e.Process.Exe);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ConsoleAlertSink_Alert_WritesOneReadableLine()
    {
        var w = new StringWriter();
        await new ConsoleAlertSink(w).WriteAsync([SomeAlert()], default);
        var line = Assert.Single(w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("HIGH", line);
        Assert.Contains("unexpected_process", line);
        Assert.Contains("prod/shop/Deployment/cart/cart", line);
        Assert.Contains("score=12.50>11.50", line);
    }

    [Fact]
    public void Validate_BadSettings_ListsEveryError()
    {
        var dir = Path.GetTempPath();
        var result = new AlertingOptionsValidator().Validate(null, new AlertingOptions { QueueCapacity = 0, MaxBatchSize = 0, File = dir });
        Assert.True(result.Failed);
        Assert.Equal(3, result.Failures!.Count());
    }
}
