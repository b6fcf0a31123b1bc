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

    /// <summary>Counts emissions (on the dispatcher's thread, before any sink sees them).</summary>
    private sealed class Emissions : IIncidentObserver
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void OnIncident(Incident incident) => Interlocked.Increment(ref _count);
    }

    private static (AlertDispatcher Dispatcher, AlertingMetrics Metrics) Create(IEnumerable<IAlertSink> sinks, AlertingOptions options, TimeProvider? clock = null, IIncidentObserver? observer = null)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        return (new AlertDispatcher(sinks, observer is null ? [] : [observer], Microsoft.Extensions.Options.Options.Create(options), metrics, clock ?? new TestClock(), NullLogger<AlertDispatcher>.Instance), metrics);
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
        var clock = new TestClock();
        var options = AlertDispatcherTests.Options();

        // Shorter than the sinks' send timeout: advancing past it must not time the slow sink's send out.
        options.IncidentGroupInterval = TimeSpan.FromSeconds(1);
        var emissions = new Emissions();
        var (d, _) = Create([fast, slow], options, clock, emissions);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();
        var receipt = new AlertReceipt(2, () => settled.TrySetResult());

        // The second alert arrives after the incident's first version went out: its receipt rides the next version, so
        // the event is settled only when both versions are at both sinks.
        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = receipt });
        await d.PassAsync();
        await fast.WaitForAsync(1);
        d.Publish(TestAlerts.Exec("/tmp/xmrig", 11, ppid: 10) with { Receipt = receipt });
        await d.PassAsync();
        Assert.Equal(1, emissions.Count); // folded, and held until the group interval
        clock.Advance(options.IncidentGroupInterval);
        await d.PassAsync();
        await fast.WaitForAsync(2);

        // An unrelated incident after the second version: once the fast sink has it, the fast pipeline is done with the
        // second version's batch (it delivers and settles batch after batch), so the fast sink cannot settle it later.
        d.Publish(TestAlerts.Exec("/usr/bin/id", 500));
        await d.PassAsync();
        await fast.WaitForAsync(3);
        Assert.False(settled.Task.IsCompleted, "settled before the slow sink delivered");
        Assert.Equal(2, receipt.Open);

        slow.Gate.Release(10);
        await settled.Task.WaitAsync(TestClock.Ceiling);
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(fast.Received.Select(r => r.Split('#')[0]), slow.Received);
    }

    [Fact]
    public async Task Publish_SinkDown_SettledOnceTheIncidentIsSpilledToDisk()
    {
        var down = new AlertDispatcherTests.ListSink("down") { Down = true };
        var clock = new TestClock();
        var options = AlertDispatcherTests.Options();
        options.RetryBaseDelay = TimeSpan.FromSeconds(1);
        options.MaxBackoff = TimeSpan.FromSeconds(1);
        var (d, metrics) = Create([down], options, clock);
        await d.StartAsync(default);
        var settled = new TaskCompletionSource();
        var receipt = new AlertReceipt(1, () => settled.TrySetResult());

        d.Publish(TestAlerts.Exec("/bin/sh", 10) with { Receipt = receipt });
        await d.PassAsync();

        // Failed, waiting to retry: not safe yet.
        await clock.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(1, receipt.Open);
        clock.Advance(TimeSpan.FromSeconds(1));
        await clock.AdvanceWhenWaitedOnAsync(TimeSpan.FromSeconds(2));

        // The last attempt failed: on disk, hence settled.
        await settled.Task.WaitAsync(TestClock.Ceiling);
        Assert.Equal(3, down.Calls);
        Assert.Equal(1, metrics.SinkSpilled.WithLabels("down").Value);
        Assert.Equal(0, metrics.SinkSent.WithLabels("down").Value);

        // Stopping while the sink is down: the pipeline backs off between its last tries of the spilled batch.
        await clock.AdvanceUntilAsync(d.StopAsync(default), options.MaxBackoff);
        Assert.Equal(1, d.Pipelines[0].Spilled);
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
        await d.PassAsync();
        Assert.False(settled.Task.IsCompleted, "settled while the incident waited for grouping");
        Assert.Empty(sink.Received);

        // The clock has not moved: only the flush emits it.
        await d.FlushAsync(TestClock.Ceiling).WaitAsync(TestClock.Ceiling); // its timeout is on the fake clock
        await settled.Task.WaitAsync(TestClock.Ceiling);
        Assert.Single(sink.Received);
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
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

        // Within the pass that reads it, not when some sink gets to it.
        await d.PassAsync();
        Assert.True(settled.Task.IsCompleted);
        await d.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Empty(sink.Received);
        Assert.Equal(1, metrics.Suppressed.WithLabels("ops-shell").Value);
    }
}
