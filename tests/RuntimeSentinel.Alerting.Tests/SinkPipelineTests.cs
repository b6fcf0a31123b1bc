using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class SinkPipelineTests
{
    private static (SinkPipeline Pipeline, AlertingMetrics Metrics) Create(IAlertSink sink, AlertingOptions o)
    {
        var metrics = new AlertingMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        return (new SinkPipeline(sink, o, metrics, NullLogger.Instance, TimeProvider.System), metrics);
    }

    private static Incident Incident(int i) => new(TestAlerts.Exec("/bin/t" + i, i), Some.Time) { Version = 1 };

    [Fact]
    public async Task Enqueue_SinkFailsTwice_RetriesAndDeliversInOrder()
    {
        var sink = new AlertDispatcherTests.ListSink("flaky", failFirst: 2);
        var (p, metrics) = Create(sink, AlertDispatcherTests.Options());
        p.Start();
        var incidents = Enumerable.Range(0, 5).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue);
        await p.StopAsync(default);
        Assert.Equal(incidents.Select(i => $"{i.Id}#1"), sink.Received);
        Assert.Equal(2, metrics.SinkRetries.WithLabels("flaky").Value);
        Assert.Equal(0, metrics.SinkSpilled.WithLabels("flaky").Value);
    }

    [Fact]
    public async Task Enqueue_SinkDownAcrossRestart_SpillsThenReplaysEverythingInOrder()
    {
        var options = AlertDispatcherTests.Options();
        var sink = new AlertDispatcherTests.ListSink("down") { Down = true };
        var (p, metrics) = Create(sink, options);
        p.Start();
        var incidents = Enumerable.Range(0, 12).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue);
        await p.StopAsync(default);
        Assert.Empty(sink.Received);
        Assert.Equal(12, p.Spilled);
        Assert.Equal(12, metrics.SinkSpilled.WithLabels("down").Value);

        // "Restart": a new pipeline on the same spill directory, sink back up, plus new incidents after it.
        sink.Down = false;
        var (again, _) = Create(sink, options);
        again.Start();
        var later = Enumerable.Range(100, 3).Select(Incident).ToList();
        later.ForEach(again.Enqueue);
        await KafkaTestKit.EventuallyAsync(() => sink.Received.Count == 15, TimeSpan.FromSeconds(10), "15 delivered");
        await again.StopAsync(default);
        Assert.Equal(incidents.Concat(later).Select(i => $"{i.Id}#1"), sink.Received);
        Assert.Equal(0, again.Spilled);
    }

    [Fact]
    public async Task StopAsync_SinkHangsPastTheDeadline_SpillsWhatIsQueuedForTheNextStart()
    {
        var options = AlertDispatcherTests.Options();
        var sink = new HangingSink();
        var (p, _) = Create(sink, options);
        p.Start();
        var incidents = Enumerable.Range(0, 8).Select(Incident).ToList();
        incidents.ForEach(p.Enqueue);
        Assert.True(sink.Entered.Wait(TimeSpan.FromSeconds(10)), "the first batch reached the sink");
        var queuedBehind = Enumerable.Range(50, 4).Select(Incident).ToList();
        queuedBehind.ForEach(p.Enqueue);

        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.StopAsync(deadline.Token));

        // The batch in flight is the sink's; everything behind it is on disk.
        Assert.True(p.Spilled >= queuedBehind.Count, $"spilled {p.Spilled}");
        var late = Incident(99);
        p.Enqueue(late); // the correlator flushing after the deadline: refused by memory, kept on disk
        Assert.True(p.Spilled >= queuedBehind.Count + 1, $"spilled {p.Spilled}");
        sink.Release.Set();

        var replay = new AlertDispatcherTests.ListSink("hang");
        var (again, _) = Create(replay, options);
        again.Start();
        await KafkaTestKit.EventuallyAsync(() => again.Spilled == 0, TimeSpan.FromSeconds(10), "spill replayed");
        await again.StopAsync(default);
        Assert.Subset(replay.Received.ToHashSet(), queuedBehind.Append(late).Select(i => $"{i.Id}#1").ToHashSet());
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
    public async Task Enqueue_SinkRecoversMidStream_LosesNothing()
    {
        var options = AlertDispatcherTests.Options();
        var sink = new AlertDispatcherTests.ListSink("outage");
        var (p, _) = Create(sink, options);
        p.Start();
        var all = Enumerable.Range(0, 30).Select(Incident).ToList();
        foreach (var (incident, n) in all.Select((x, n) => (x, n)))
        {
            sink.Down = n is >= 10 and < 20; // outage in the middle
            p.Enqueue(incident);
            await Task.Delay(15);
        }

        sink.Down = false;
        await KafkaTestKit.EventuallyAsync(() => sink.Received.Count >= 30, TimeSpan.FromSeconds(10), "all 30 delivered");
        await p.StopAsync(default);
        Assert.Equal(all.Select(i => $"{i.Id}#1").Order(), sink.Received.Distinct().Order());
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
