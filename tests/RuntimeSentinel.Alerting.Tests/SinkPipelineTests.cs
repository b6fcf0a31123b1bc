using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class SinkPipelineTests
{
    private static (SinkPipeline Pipeline, AlertingMetrics Metrics) Create(IAlertSink sink, AlertingOptions o, TimeProvider clock)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        return (new SinkPipeline(sink, o, metrics, NullLogger.Instance, clock), metrics);
    }

    private static Incident Incident(int i) => new(TestAlerts.Exec("/bin/t" + i, i), Some.Time) { Version = 1 };

    private static IEnumerable<string> Wire(IEnumerable<Incident> incidents) => incidents.Select(i => $"{i.Id}#1");

    [Fact]
    public async Task Enqueue_SinkFailsTwice_RetriesOnTheClockAndDeliversInOrder()
    {
        var sink = new AlertDispatcherTests.ListSink("flaky", failFirst: 2);
        var clock = new TestClock();
        var options = AlertDispatcherTests.Options();
        options.RetryBaseDelay = TimeSpan.FromSeconds(5);
        var (p, metrics) = Create(sink, options, clock);
        var incidents = Enumerable.Range(0, 5).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue); // queued before the loop starts: one batch
        p.Start();

        // Each retry waits its back-off (doubling) on the clock, and not a moment less.
        await clock.WaitForTimerAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, sink.Calls);
        clock.Advance(TimeSpan.FromSeconds(5));
        await clock.WaitForTimerAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, sink.Calls);
        clock.Advance(TimeSpan.FromSeconds(10));

        await sink.WaitForAsync(5);
        await p.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(Wire(incidents), sink.Received);
        Assert.Equal(3, sink.Calls);
        Assert.Equal(2, metrics.SinkRetries.WithLabels("flaky").Value);
        Assert.Equal(0, metrics.SinkSpilled.WithLabels("flaky").Value);
    }

    [Fact]
    public async Task Enqueue_SinkDownAcrossRestart_SpillsThenReplaysEverythingInOrder()
    {
        var options = AlertDispatcherTests.Options();
        var sink = new AlertDispatcherTests.ListSink("down") { Down = true };
        var (p, metrics) = Create(sink, options, new TestClock());
        var incidents = Enumerable.Range(0, 12).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue);
        p.Start();
        await p.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Empty(sink.Received);
        Assert.Equal(12, p.Spilled);
        Assert.Equal(12, metrics.SinkSpilled.WithLabels("down").Value);

        // "Restart": a new pipeline (and clock) on the same spill directory, sink back up, plus new incidents after it.
        sink.Down = false;
        var clock = new TestClock();
        var (again, _) = Create(sink, options, clock);
        var later = Enumerable.Range(100, 3).Select(Incident).ToList();
        later.ForEach(again.Enqueue);
        again.Start();

        // The new incidents queue behind the spilled ones; the first wake replays the oldest batch, and while more
        // wait on disk the loop wakes on its own (no new incidents needed) to replay them.
        await sink.WaitForAsync(12);
        await clock.AdvanceWhenWaitedOnAsync(TimeSpan.FromMilliseconds(200));
        await sink.WaitForAsync(15);
        await again.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(Wire(incidents.Concat(later)), sink.Received);
        Assert.Equal(0, again.Spilled);
    }

    [Fact]
    public async Task StopAsync_SinkHangsPastTheDeadline_SpillsWhatIsQueuedForTheNextStart()
    {
        var options = AlertDispatcherTests.Options();
        options.RetryBaseDelay = TimeSpan.FromSeconds(1);
        var sink = new HangingSink();
        var (p, _) = Create(sink, options, new TestClock());
        var incidents = Enumerable.Range(0, 8).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue);
        p.Start();
        Assert.True(sink.Entered.Wait(TestClock.Ceiling), "the first batch reached the sink");
        var queuedBehind = Enumerable.Range(50, 4).Select(Incident).ToList();
        queuedBehind.ForEach(p.Enqueue);

        // Out of shutdown time.
        using var deadline = new CancellationTokenSource();
        await deadline.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.StopAsync(deadline.Token));

        // The batch in flight is the sink's; everything behind it is on disk.
        Assert.Equal(queuedBehind.Count, p.Spilled);
        var late = Incident(99);
        p.Enqueue(late); // the correlator flushing after the deadline: refused by memory, kept on disk
        Assert.Equal(queuedBehind.Count + 1, p.Spilled);

        // The old loop now fails its batch and waits to retry on its own clock, which never moves: it stays out of the way.
        sink.Release.Set();
        var replay = new AlertDispatcherTests.ListSink("hang");
        var (again, _) = Create(replay, options, new TestClock());
        again.Start();
        await again.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(Wire(queuedBehind.Append(late)), replay.Received);
        Assert.Equal(0, again.Spilled);
    }

    private sealed class HangingSink : IAlertSink
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public string Name => "hang";

        public byte[] Render(Incident incident) => Encoding.UTF8.GetBytes($"{incident.Id}#{incident.Version}");

        public async ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken)
        {
            Entered.Set();
            await Task.Run(() => Release.Wait(CancellationToken.None), CancellationToken.None).ConfigureAwait(false);
            throw new IOException("endpoint never answered");
        }
    }

    [Fact]
    public async Task Enqueue_SinkRecoversMidStream_LosesNothingAndKeepsOrder()
    {
        var options = AlertDispatcherTests.Options();
        options.RetryAttempts = 1; // a failed batch goes to disk at once (retries have their own test)
        options.RetryBaseDelay = TimeSpan.FromSeconds(1);
        options.MaxBackoff = TimeSpan.FromSeconds(1);
        var sink = new AlertDispatcherTests.ListSink("outage");
        var clock = new TestClock();
        var (p, _) = Create(sink, options, clock);
        p.Start();
        var all = Enumerable.Range(0, 30).Select(Incident).ToList();
        all[..10].ForEach(p.Enqueue);
        await sink.WaitForAsync(10);

        // The outage: the first failed batch is spilled and the loop backs off; the rest wait in memory or on disk.
        sink.Down = true;
        all[10..20].ForEach(p.Enqueue);
        await clock.WaitForTimerAsync(options.MaxBackoff);

        // Recovery, with more incidents arriving: after the back-off the spilled ones go first, then the rest.
        sink.Down = false;
        all[20..].ForEach(p.Enqueue);
        clock.Advance(options.MaxBackoff);
        await clock.AdvanceWhenWaitedOnAsync(TimeSpan.FromMilliseconds(200));
        await sink.WaitForAsync(30);
        await p.StopAsync(default).WaitAsync(TestClock.Ceiling);
        Assert.Equal(Wire(all), sink.Received);
    }

    [Fact]
    public void DiskQueue_OverBound_DropsOldestAndCounts()
    {
        var dir = Directory.CreateTempSubdirectory("sentinel-dq-").FullName;
        var q = new DiskQueue(dir, 2000);
        long dropped = 0;
        for (var i = 0; i < 10; i++)
        {
            dropped += q.Append([new byte[500]]);
        }

        Assert.True(dropped >= 6);
        Assert.Equal(10 - dropped, q.Count);
        Assert.Equal(q.Count, new DiskQueue(dir, 2000).Count); // survives a restart
    }
}
