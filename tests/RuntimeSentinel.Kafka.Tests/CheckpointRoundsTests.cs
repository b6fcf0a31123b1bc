using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;
using static RuntimeSentinel.Kafka.Tests.Ingest;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>The checkpoint barrier: commits advance only to positions a written checkpoint covers.</summary>
public sealed class CheckpointRoundsTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly FakeIngress _ingress = new() { CheckpointInterval = Interval };
    private readonly KafkaMetrics _metrics = Metrics();

    private CheckpointRounds Rounds(bool enable = true)
    {
        var rounds = new CheckpointRounds(_ingress, _metrics, _time);
        if (enable)
        {
            rounds.Enable();
        }

        return rounds;
    }

    private static PartitionTracker Finished(params long[] offsets)
    {
        var t = new PartitionTracker(P(0), checkpointed: true);
        foreach (var o in offsets)
        {
            t.Track(o);
            t.Complete(o);
        }

        return t;
    }

    [Fact]
    public void Enable_Called_DetectionKeepsNoCheckpointTimerOfItsOwn()
    {
        var rounds = Rounds();

        Assert.True(rounds.Enabled);
        Assert.Equal(1, _ingress.DriveCheckpointsCalls);
    }

    [Fact]
    public void StartIfDue_BeforeTheInterval_StartsNoRound()
    {
        var rounds = Rounds();
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));

        rounds.StartIfDue(_time.GetTimestamp(), [Finished(0)]);

        Assert.Equal(0, _ingress.CheckpointCalls);
    }

    [Fact]
    public void StartIfDue_NotEnabled_StartsNoRound()
    {
        var rounds = Rounds(enable: false);
        _time.Advance(Interval);

        rounds.StartIfDue(_time.GetTimestamp(), [Finished(0)]);

        Assert.Equal(0, _ingress.CheckpointCalls);
        Assert.False(rounds.CheckpointNow(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void StartIfDue_CheckpointWritten_AllowsOnlyWhatWasProcessedWhenTheRoundBegan()
    {
        var rounds = Rounds();
        var tracker = Finished(0, 1);
        _time.Advance(Interval);

        rounds.StartIfDue(_time.GetTimestamp(), [tracker]);
        tracker.Track(2);
        tracker.Complete(2); // after the round noted its positions: not in its checkpoints
        Assert.False(tracker.TryTakeCommittable(out _));
        _ingress.Checkpoints.Single().SetResult(true);

        Assert.True(tracker.TryTakeCommittable(out var position));
        Assert.Equal(new TopicPartitionOffset(P(0), 2), position);
    }

    [Fact]
    public void StartIfDue_RoundStillRunning_StartsNoSecondOne()
    {
        var rounds = Rounds();
        _time.Advance(Interval);
        rounds.StartIfDue(_time.GetTimestamp(), [Finished(0)]);
        _time.Advance(Interval);

        rounds.StartIfDue(_time.GetTimestamp(), [Finished(0)]);
        Assert.Equal(1, _ingress.CheckpointCalls);

        _ingress.Checkpoints[0].SetResult(true);
        rounds.StartIfDue(_time.GetTimestamp(), [Finished(0)]);
        Assert.Equal(2, _ingress.CheckpointCalls);
    }

    [Fact]
    public void StartIfDue_CheckpointNotWritten_AllowsNothingAndCountsIt()
    {
        var rounds = Rounds();
        var tracker = Finished(0);
        _time.Advance(Interval);

        rounds.StartIfDue(_time.GetTimestamp(), [tracker]);
        _ingress.Checkpoints.Single().SetResult(false);

        Assert.False(tracker.TryTakeCommittable(out _));
        Assert.Equal(1, Value(_metrics.Commits, "checkpoint_pending"));
    }

    [Fact]
    public void CheckpointNow_Enabled_ReturnsWhetherItWasWritten()
    {
        var rounds = Rounds();

        _ingress.CheckpointAnswer = true;
        Assert.True(rounds.CheckpointNow(TimeSpan.FromSeconds(10)));
        _ingress.CheckpointAnswer = false;
        Assert.False(rounds.CheckpointNow(TimeSpan.FromSeconds(10)));
    }
}
