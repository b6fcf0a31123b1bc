using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.TestCommon;
using static RuntimeSentinel.Kafka.Tests.Ingest;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>From consumed messages to detection: in consume order, with their trackers, batched, and safe before commits.</summary>
public sealed class DetectionHandoffTests : IDisposable
{
    private readonly KafkaMetrics _metrics = Metrics();
    private readonly FakeIngress _ingress = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<DetectionHandoff> _handoffs = [];

    /// <summary>"ignore" decodes to an ignored message, anything else to an exec of /bin/&lt;text&gt;.</summary>
    private sealed class Execs : IDeserializer<DecodedMessage>
    {
        public DecodedMessage Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            var text = Encoding.UTF8.GetString(data);
            return text == "ignore" ? DecodedMessage.Ignored("sensor_metrics", data.Length) : DecodedMessage.Decoded(Some.Exec("/bin/" + text), data.Length);
        }
    }

    private DetectionHandoff Handoff(FakeAlerts? alerts = null)
    {
        var handoff = new DetectionHandoff(
            new KafkaOptions { Topics = ["t"], DecodeThreads = 2 },
            _ingress,
            new EventEnrichment("test", new NetworkOptions()),
            UnusedDeadLetters(_metrics),
            _metrics,
            Health(_metrics),
            _time,
            NullLogger.Instance,
            alerts,
            () => new Execs());
        handoff.Open();
        _handoffs.Add(handoff);
        return handoff;
    }

    /// <summary>
    /// Takes decoded batches until <paramref name="count"/> events reached the writer: one TakeDecoded waits only a few
    /// milliseconds for the decoder thread, which a loaded machine can exceed.
    /// </summary>
    private void TakeDecoded(DetectionHandoff handoff, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (_ingress.Writer.Written.Count < count && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            handoff.TakeDecoded(wait: true, CancellationToken.None);
        }
    }

    private static void Consume(DetectionHandoff handoff, PartitionTracker tracker, long offset, string value)
    {
        handoff.Open().Deserialize(Encoding.UTF8.GetBytes(value), false, new SerializationContext(MessageComponentType.Value, "t"));
        tracker.Track(offset);
        handoff.Add(new ConsumeResult<Ignore, Ignore> { TopicPartitionOffset = new TopicPartitionOffset(tracker.Partition, offset), Message = new Message<Ignore, Ignore>() }, tracker);
    }

    public void Dispose()
    {
        foreach (var h in _handoffs)
        {
            h.Dispose();
        }
    }

    [Fact]
    public void Flush_ManyMessages_HandedToDetectionInConsumeOrderWithTheirTrackers()
    {
        var handoff = Handoff();
        var tracker = new PartitionTracker(P(0));
        for (var i = 0; i < 200; i++)
        {
            Consume(handoff, tracker, i, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        handoff.Flush(CancellationToken.None);

        Assert.False(handoff.HasPending);
        Assert.Equal(200, handoff.EventsIngested);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), _ingress.Writer.HandedOver.Select(x => x.Offset));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "/bin/" + i), _ingress.Writer.HandedOver.Select(x => x.Event.Process.Exe));
        Assert.All(_ingress.Writer.HandedOver, x => Assert.Same(tracker, x.Completion));
        Assert.Equal(200, tracker.InFlight); // complete only once detection finished them
    }

    [Fact]
    public void TakeDecoded_IgnoredMessage_CountedAndCompletedWithoutDetection()
    {
        var handoff = Handoff();
        var tracker = new PartitionTracker(P(0));
        Consume(handoff, tracker, 7, "ignore");

        handoff.Flush(CancellationToken.None);

        Assert.Empty(_ingress.Writer.HandedOver);
        Assert.Equal(0, handoff.EventsIngested);
        Assert.Equal(1, Value(_metrics.Ignored, "t", "sensor_metrics"));
        Assert.True(tracker.TryTakeCommittable(out var position));
        Assert.Equal(8, position.Offset.Value);
    }

    [Fact]
    public void TakeDecoded_PartitionRevokedWhileDecoding_NotHandedOver()
    {
        var handoff = Handoff();
        var tracker = new PartitionTracker(P(0));
        Consume(handoff, tracker, 0, "sh");
        tracker.Revoked = true;

        handoff.Flush(CancellationToken.None);

        Assert.Empty(_ingress.Writer.HandedOver);
        Assert.Equal(0, handoff.EventsIngested);
    }

    [Fact]
    public void FlushIfDue_BusyAndYoung_KeepsBatchingUntilIdleOrOld()
    {
        var handoff = Handoff();
        var tracker = new PartitionTracker(P(0));
        Consume(handoff, tracker, 0, "sh");
        handoff.Submit();
        TakeDecoded(handoff, 1);
        Assert.Single(_ingress.Writer.Written);

        _ingress.Writer.PendingSince = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3600; // written "now", as far as the next hour goes
        handoff.FlushIfDue(idle: false, CancellationToken.None);
        Assert.Empty(_ingress.Writer.HandedOver);

        handoff.FlushIfDue(idle: true, CancellationToken.None);
        Assert.Single(_ingress.Writer.HandedOver);
    }

    [Fact]
    public void FlushIfDue_OldestPastTheBatchDelay_HandsOverWhileBusy()
    {
        var handoff = Handoff();
        var tracker = new PartitionTracker(P(0));
        Consume(handoff, tracker, 0, "sh");
        handoff.Submit();
        TakeDecoded(handoff, 1);

        _ingress.Writer.PendingSince = Stopwatch.GetTimestamp() - Stopwatch.Frequency; // a second ago
        handoff.FlushIfDue(idle: false, CancellationToken.None);

        Assert.Single(_ingress.Writer.HandedOver);
    }

    [Fact]
    public void AwaitAlerts_NoneAwaited_DoesNotFlushAlerting()
    {
        var alerts = new FakeAlerts();
        var handoff = Handoff(alerts);

        handoff.AwaitAlerts(TimeSpan.FromSeconds(5));

        Assert.Equal(0, alerts.Flushes);
    }

    [Fact]
    public void AwaitAlerts_DeliveredByTheFlush_ReturnsWithoutWaitingOutTheTimeout()
    {
        var alerts = new FakeAlerts { OnFlush = () => _ingress.EventsAwaitingAlerts = 0 };
        var handoff = Handoff(alerts);
        _ingress.EventsAwaitingAlerts = 3;

        handoff.AwaitAlerts(TimeSpan.FromSeconds(5)); // the fake clock never moves: only delivery can end this

        Assert.Equal(1, alerts.Flushes);
    }

    [Fact]
    public async Task AwaitAlerts_NeverDelivered_GivesUpAtTheTimeout()
    {
        var alerts = new FakeAlerts();
        var handoff = Handoff(alerts);
        _ingress.EventsAwaitingAlerts = 3;

        var waiting = Task.Run(() => handoff.AwaitAlerts(TimeSpan.FromSeconds(5)));
        await alerts.Flushed.Task.WaitAsync(KafkaTestKit.Patience);
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));

        await waiting.WaitAsync(KafkaTestKit.Patience);
        Assert.Equal(3, _ingress.EventsAwaitingAlerts); // their offsets stay uncommitted
    }
}
