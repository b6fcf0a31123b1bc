using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

/// <summary>An event's offset may be committed only when its alerts are safe: delivered or on disk at every sink.</summary>
public class AlertReceiptTests
{
    /// <summary>A sink that delivers only when released (a slow webhook).</summary>
    private sealed class GatedSink(string name) : IAlertSink
    {
        public SemaphoreSlim Gate { get; } = new(0);

        public List<string> Received { get; } = [];

        public string Name => name;

        public byte[] Render(Incident incident) => Encoding.UTF8.GetBytes(incident.Id);

        public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
        {
            await Gate.WaitAsync(cancellationToken);
            lock (Received)
            {
                Received.AddRange(items.Select(Encoding.UTF8.GetString));
            }
        }
    }

    private static (AlertDispatcher Dispatcher, AlertingMetrics Metrics) Create(IEnumerable<IAlertSink> sinks, AlertingOptions options)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        return (new AlertDispatcher(sinks, [], Microsoft.Extensions.Options.Options.Create(options), metrics, TimeProvider.System, NullLogger<AlertDispatcher>.Instance), metrics);
    }

    [Fact]
    public void Settle_EachAlertOfTheEvent_RunsOnceWhenTheLastSettles()
    {
        var runs = 0;
        var r = new AlertReceipt(3, () => runs++);
        r.Settle();
        r.Settle();
        Assert.Equal(0, runs);
        r.Settle();
        r.Settle(); // a stray extra settle changes nothing
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Publish_TwoSinksOneSlow_SettledOnlyWhenBothDelivered()
    {
        var fast = new AlertDispatcherTests.ListSink("fast");
        var slow = new GatedSink("slow");
        var options = AlertDispatcherTests.Options();

        // The second alert arrives after the incident's first version went out (a loaded CI machine did this by chance):
        // its receipt rides the next version, so the event is settled only when both versions are at both sinks.
        options.IncidentGroupInterval = TimeSpan.FromMilliseconds(50);
        var (d, _) = Create([fast, slow], options);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();
        var receipt = new AlertReceipt(2, () => settled.TrySetResult());

        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = receipt });
        await KafkaTestKit.EventuallyAsync(() => fast.Received.Count > 0, TimeSpan.FromSeconds(10), "the fast sink delivered the first version");
        d.Publish(TestAlerts.Exec("/tmp/xmrig", 11, ppid: 10) with { Receipt = receipt });
        await KafkaTestKit.EventuallyAsync(() => fast.Received.Count > 1, TimeSpan.FromSeconds(10), "the fast sink delivered the second version");
        await Task.Delay(200);
        Assert.False(settled.Task.IsCompleted, "settled before the slow sink delivered");

        slow.Gate.Release(10);
        await settled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await d.StopAsync(default);
        Assert.NotEmpty(slow.Received);
    }

    [Fact]
    public async Task Publish_SinkDown_SettledOnceTheIncidentIsSpilledToDisk()
    {
        var down = new AlertDispatcherTests.ListSink("down") { Down = true };
        var (d, metrics) = Create([down], AlertDispatcherTests.Options());
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();

        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = new AlertReceipt(1, () => settled.TrySetResult()) });

        await settled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, metrics.SinkSpilled.WithLabels("down").Value);
        Assert.Equal(0, metrics.SinkSent.WithLabels("down").Value);
        await d.StopAsync(default);
    }

    [Fact]
    public async Task Publish_HeldForGrouping_SettledByAFlushNotBefore()
    {
        var sink = new AlertDispatcherTests.ListSink("s");
        var options = AlertDispatcherTests.Options();
        options.IncidentGroupWait = TimeSpan.FromMinutes(5);
        var (d, _) = Create([sink], options);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();

        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = new AlertReceipt(1, () => settled.TrySetResult()) });
        await Task.Delay(600);
        Assert.False(settled.Task.IsCompleted, "settled while the incident waited for grouping");

        await d.FlushAsync(TimeSpan.FromSeconds(10));
        await settled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(sink.Received);
        await d.StopAsync(default);
    }

    [Fact]
    public async Task Publish_SuppressedByARule_SettledAtOnce()
    {
        using var temp = new TempFolder("receipt-suppress-");
        var rules = Path.Combine(temp.Path, "suppress.json");
        await File.WriteAllTextAsync(rules, """{"rules": [{"id":"ops-shell","executable":"/bin/sh","reason":"ops","created_by":"alice","expires":"2099-01-01T00:00:00Z"}]}""");
        var sink = new AlertDispatcherTests.ListSink("s");
        var options = AlertDispatcherTests.Options();
        options.SuppressionFile = rules;
        var (d, metrics) = Create([sink], options);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();

        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = new AlertReceipt(1, () => settled.TrySetResult()) });

        await settled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await d.StopAsync(default);
        Assert.Empty(sink.Received);
        Assert.Equal(1, metrics.Suppressed.WithLabels("ops-shell").Value);
    }
}
